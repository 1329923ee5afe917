# tls_lib.sh — a test CA, server certificates for 127.0.0.1 (SAN IP) and a second, unrelated CA,
# made with openssl in $WORK/pki; start_coord_tls runs the coordinator on HTTPS with them.
command -v openssl >/dev/null || fail "openssl is not installed (scripts/install-deps.sh)"
PKI=$WORK/pki
mkdir -p "$PKI"

# make_ca NAME — NAME.pem / NAME.key, a self-signed CA
make_ca() {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/$1.key" -out "$PKI/$1.pem" -days 2 \
        -subj "/CN=gprof test $1" >/dev/null 2>&1 || fail "openssl: cannot make CA $1"
}
# make_server NAME CA SERIAL — NAME.pem / NAME.key for 127.0.0.1 and localhost, signed by CA
make_server() {
    openssl req -newkey rsa:2048 -nodes -keyout "$PKI/$1.key" -out "$PKI/$1.csr" \
        -subj /CN=127.0.0.1 >/dev/null 2>&1 || fail "openssl: cannot make key $1"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$PKI/$1.ext"
    openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.pem" -CAkey "$PKI/$2.key" -set_serial "$3" \
        -days 2 -extfile "$PKI/$1.ext" -out "$PKI/$1.pem" >/dev/null 2>&1 ||
        fail "openssl: cannot sign $1"
}
make_ca ca
make_ca wrongca
CA=$PKI/ca.pem
WRONG_CA=$PKI/wrongca.pem
# curl (the tool, not libcurl) trusts the test CA through this variable
export CURL_CA_BUNDLE=$CA

# start_coord_tls STATE_DIR CERT KEY [extra flags...] — HTTPS on 127.0.0.1; sets H, PORT, COORD_PID
start_coord_tls() {
    local state=$1 cert=$2 key=$3
    shift 3
    PORT=${PORT:-$(free_port)}
    H=https://127.0.0.1:$PORT
    "$COORD" --listen 127.0.0.1:$PORT --state-dir "$state" --indexer-poll-ms 50 \
        --tls-cert "$cert" --tls-key "$key" "$@" >>"$WORK/coord.log" 2>&1 &
    COORD_PID=$!
    wait_coord_up
}

# serial_seen — the serial number of the certificate a new connection to $PORT gets
serial_seen() {
    echo | openssl s_client -connect 127.0.0.1:"$PORT" 2>/dev/null | openssl x509 -noout -serial |
        sed 's/serial=//'
}
