/* tls.c — the server certificate and its reload (see tls.h). */
#include "coordinator/http/tls.h"
#include "common/log.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TLS_CHAIN_MAX 16

/* One loaded certificate chain and its key; never freed while the daemon runs, since a
 * handshake that picked it may still be using it. */
struct tls_pair {
    gnutls_pcert_st chain[TLS_CHAIN_MAX];
    unsigned n;
    gnutls_privkey_t key;
    struct tls_pair *older;
};

struct http_tls {
    char *cert_file, *key_file;
    pthread_mutex_t mu; /* reloads one at a time */
    struct tls_pair *pairs;
};

static _Atomic(struct tls_pair *) current;

static void pair_free(struct tls_pair *p)
{
    for (unsigned i = 0; i < p->n; i++)
        gnutls_pcert_deinit(&p->chain[i]);
    if (p->key)
        gnutls_privkey_deinit(p->key);
    free(p);
}

static int key_id(gnutls_pubkey_t pk, unsigned char *id, size_t *len)
{
    return gnutls_pubkey_get_key_id(pk, 0, id, len);
}

/* Reads cert_file and key_file into a new pair; the error names the file and what is wrong. */
static int pair_load(const char *cert_file, const char *key_file, struct tls_pair **out,
                     struct gp_err *err)
{
    gnutls_datum_t cd = {0}, kd = {0};
    struct tls_pair *p = calloc(1, sizeof(*p));
    if (!p)
        return gp_err_set(err, -ENOMEM, "out of memory");
    int rc = 0, g;
    if ((g = gnutls_load_file(cert_file, &cd)) < 0) {
        rc = gp_err_set(err, -ENOENT, "tls_cert %s: cannot read it (%s)", cert_file,
                        gnutls_strerror(g));
        goto out;
    }
    if ((g = gnutls_load_file(key_file, &kd)) < 0) {
        rc = gp_err_set(err, -ENOENT, "tls_key %s: cannot read it (%s)", key_file,
                        gnutls_strerror(g));
        goto out;
    }
    p->n = TLS_CHAIN_MAX;
    if ((g = gnutls_pcert_list_import_x509_raw(p->chain, &p->n, &cd, GNUTLS_X509_FMT_PEM, 0)) < 0 ||
        p->n == 0) {
        p->n = 0;
        rc = gp_err_set(err, -EINVAL, "tls_cert %s: not a PEM certificate chain (%s)", cert_file,
                        g < 0 ? gnutls_strerror(g) : "no certificate in it");
        goto out;
    }
    if ((g = gnutls_privkey_init(&p->key)) < 0 ||
        (g = gnutls_privkey_import_x509_raw(p->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        rc = gp_err_set(err, -EINVAL, "tls_key %s: not an unencrypted PEM private key (%s)",
                        key_file, gnutls_strerror(g));
        goto out;
    }
    /* the key must be the leaf certificate's */
    gnutls_pubkey_t kp = NULL;
    unsigned char a[64], b[64];
    size_t al = sizeof(a), bl = sizeof(b);
    if (gnutls_pubkey_init(&kp) < 0 || gnutls_pubkey_import_privkey(kp, p->key, 0, 0) < 0 ||
        key_id(kp, a, &al) < 0 || key_id(p->chain[0].pubkey, b, &bl) < 0 || al != bl ||
        memcmp(a, b, al) != 0) {
        if (kp)
            gnutls_pubkey_deinit(kp);
        rc = gp_err_set(err, -EINVAL,
                        "tls_key %s does not belong to the first certificate of tls_cert %s",
                        key_file, cert_file);
        goto out;
    }
    gnutls_pubkey_deinit(kp);
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) == 0) {
        if (gnutls_x509_crt_import(crt, &p->chain[0].cert, GNUTLS_X509_FMT_DER) == 0) {
            time_t exp = gnutls_x509_crt_get_expiration_time(crt);
            char when[32] = "?";
            struct tm tm;
            if (exp != (time_t)-1)
                strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&exp, &tm));
            if (exp != (time_t)-1 && exp < time(NULL))
                gp_warn("tls: the certificate in %s expired on %s: clients will refuse it",
                        cert_file, when);
            else
                gp_info("tls: certificate %s (%u in chain) valid until %s", cert_file, p->n, when);
        }
        gnutls_x509_crt_deinit(crt);
    }
out:
    gnutls_free(cd.data);
    if (kd.data) {
        gnutls_memset(kd.data, 0, kd.size);
        gnutls_free(kd.data);
    }
    if (rc) {
        pair_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static int retrieve(gnutls_session_t s, const gnutls_datum_t *req_ca_dn, int nreqs,
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    (void)s;
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    struct tls_pair *p = atomic_load_explicit(&current, memory_order_acquire);
    if (!p)
        return -1;
    *pcert = p->chain;
    *pcert_length = p->n;
    *pkey = p->key;
    return 0;
}

void *http_tls_mhd_callback(void)
{
    return (void *)retrieve;
}

int http_tls_open(const char *cert_file, const char *key_file, struct http_tls **out,
                  struct gp_err *err)
{
    struct http_tls *t = calloc(1, sizeof(*t));
    if (!t)
        return gp_err_set(err, -ENOMEM, "out of memory");
    t->cert_file = strdup(cert_file);
    t->key_file = strdup(key_file);
    pthread_mutex_init(&t->mu, NULL);
    if (!t->cert_file || !t->key_file) {
        http_tls_free(t);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    int rc = pair_load(cert_file, key_file, &t->pairs, err);
    if (rc) {
        http_tls_free(t);
        return rc;
    }
    atomic_store_explicit(&current, t->pairs, memory_order_release);
    *out = t;
    return 0;
}

int http_tls_reload(struct http_tls *t, struct gp_err *err)
{
    struct tls_pair *p;
    pthread_mutex_lock(&t->mu);
    int rc = pair_load(t->cert_file, t->key_file, &p, err);
    if (rc == 0) {
        p->older = t->pairs;
        t->pairs = p;
        atomic_store_explicit(&current, p, memory_order_release);
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

void http_tls_free(struct http_tls *t)
{
    if (!t)
        return;
    struct tls_pair *p = t->pairs;
    if (atomic_load(&current) == p)
        atomic_store(&current, NULL);
    while (p) {
        struct tls_pair *o = p->older;
        pair_free(p);
        p = o;
    }
    pthread_mutex_destroy(&t->mu);
    free(t->cert_file);
    free(t->key_file);
    free(t);
}
