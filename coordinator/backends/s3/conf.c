/* conf.c — the S3 engine's settings from a spec s3://BUCKET/PREFIX?endpoint=URL&region=R&
 * style=path|virtual&timeout=S&connect_timeout=S&retry_seconds=S&max_keys=N and its credentials
 * (the spec's or config's user/password, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN).
 */
#include "coordinator/backends/s3/s3.h"
#include "coordinator/store/blob/blob.h"
#include "coordinator/store/engines.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bucket_valid(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return 0;
    }
    return b[0] != '.' && b[0] != '-' && b[n - 1] != '.' && b[n - 1] != '-';
}

/* Reads a whole number of seconds param; *ms unchanged when absent. */
static int seconds_param(const struct store_engine_options *o, const char *name, long *ms,
                         struct gp_err *err)
{
    char v[32];
    int rc = store_engine_param(o, name, v, sizeof(v));
    if (rc < 0)
        return gp_err_set(err, -EINVAL, "s3 spec: bad %s value", name);
    if (rc == 0)
        return 0;
    char *e;
    double s = strtod(v, &e);
    if (e == v || *e || !(s >= 0 && s <= 86400)) /* negated: NaN is refused too */
        return gp_err_set(err, -EINVAL, "s3 spec: %s=%s: expected seconds (0..86400)", name, v);
    *ms = (long)(s * 1000);
    return 0;
}

static char *dup_or(const char *s, int *oom)
{
    char *d = strdup(s ? s : "");
    if (!d)
        *oom = 1;
    return d;
}

int s3_conf_init(struct s3_conf *c, const struct store_engine_options *o, struct gp_err *err)
{
    memset(c, 0, sizeof(*c));
    c->timeout_ms = 60000;
    c->connect_timeout_ms = 5000;
    c->retry_ms = 20000;
    if (!o->host || !bucket_valid(o->host))
        return gp_err_set(
                err, -EINVAL,
                "s3 spec: bucket '%.64s' is not a valid bucket name (3..63 of a-z 0-9 . "
                "-); expected s3://BUCKET/PREFIX?endpoint=URL&region=R&style=path|virtual",
                o->host ? o->host : "");
    if (o->port)
        return gp_err_set(err, -EINVAL,
                          "s3 spec: s3://BUCKET takes no port; give the server as ?endpoint=URL");
    const char *p = o->database ? o->database : "";
    size_t pl = strlen(p);
    while (pl && p[pl - 1] == '/')
        pl--;
    char prefix[BLOB_KEY_MAX + 2];
    if (pl >= BLOB_KEY_MAX / 2)
        return gp_err_set(err, -EINVAL, "s3 spec: prefix longer than %d bytes", BLOB_KEY_MAX / 2);
    memcpy(prefix, p, pl);
    prefix[pl] = 0;
    if (pl && !blob_key_valid(prefix))
        return gp_err_set(err, -EINVAL,
                          "s3 spec: prefix '%s' must be components of [A-Za-z0-9._-] separated "
                          "by '/'",
                          prefix);
    if (pl) {
        prefix[pl] = '/';
        prefix[pl + 1] = 0;
    }
    char endpoint[512] = "", region[64] = "us-east-1", style[16] = "";
    int has_ep = store_engine_param(o, "endpoint", endpoint, sizeof(endpoint));
    int rc = store_engine_param(o, "region", region, sizeof(region));
    int rs = store_engine_param(o, "style", style, sizeof(style));
    if (has_ep < 0 || rc < 0 || rs < 0)
        return gp_err_set(err, -EINVAL, "s3 spec: a parameter value is too long or badly escaped");
    for (const char *r = region; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
            return gp_err_set(err, -EINVAL, "s3 spec: region '%s' is not a region name", region);
    if (!region[0])
        snprintf(region, sizeof(region), "us-east-1");
    int path_style = has_ep == 1; /* a custom endpoint (MinIO, s3rver, ...): path style */
    if (rs == 1) {
        if (strcmp(style, "path") == 0)
            path_style = 1;
        else if (strcmp(style, "virtual") == 0)
            path_style = 0;
        else
            return gp_err_set(err, -EINVAL, "s3 spec: style=%s: expected path or virtual", style);
    }
    char scheme[8] = "https", hostport[256];
    if (has_ep == 1) {
        const char *hp = strstr(endpoint, "://");
        if (!hp || (size_t)(hp - endpoint) >= sizeof(scheme))
            return gp_err_set(err, -EINVAL,
                              "s3 spec: endpoint=%s: expected http://HOST[:PORT] or "
                              "https://HOST[:PORT]",
                              endpoint);
        memcpy(scheme, endpoint, (size_t)(hp - endpoint));
        scheme[hp - endpoint] = 0;
        hp += 3;
        size_t hl = strcspn(hp, "/?#");
        if (strcmp(scheme, "http") && strcmp(scheme, "https"))
            return gp_err_set(err, -EINVAL, "s3 spec: endpoint=%s: scheme must be http or https",
                              endpoint);
        if (!hl || hl >= sizeof(hostport) || strchr(hp, '@') || (hp[hl] && strcmp(hp + hl, "/")))
            return gp_err_set(err, -EINVAL,
                              "s3 spec: endpoint=%s: expected SCHEME://HOST[:PORT] without a path",
                              endpoint);
        memcpy(hostport, hp, hl);
        hostport[hl] = 0;
    } else {
        snprintf(hostport, sizeof(hostport), "s3.%s.amazonaws.com", region);
    }
    if (seconds_param(o, "timeout", &c->timeout_ms, err) < 0 ||
        seconds_param(o, "connect_timeout", &c->connect_timeout_ms, err) < 0 ||
        seconds_param(o, "retry_seconds", &c->retry_ms, err) < 0)
        return err ? err->code : -EINVAL;
    char mk[16];
    int rk = store_engine_param(o, "max_keys", mk, sizeof(mk));
    if (rk != 0) {
        char *e = NULL;
        long v = rk > 0 ? strtol(mk, &e, 10) : 0;
        if (rk < 0 || *e || v < 1 || v > 1000)
            return gp_err_set(err, -EINVAL, "s3 spec: max_keys: expected 1..1000");
        c->max_keys = (int)v;
    }
    if (c->timeout_ms < 100)
        c->timeout_ms = 100;
    if (c->connect_timeout_ms < 100)
        c->connect_timeout_ms = 100;

    const char *ak = o->user, *sk = o->password, *tok = NULL;
    c->cred_source = "the blobs spec or config (blobs_user / blobs_password)";
    if (!ak || !*ak) {
        ak = getenv("AWS_ACCESS_KEY_ID");
        sk = getenv("AWS_SECRET_ACCESS_KEY");
        tok = getenv("AWS_SESSION_TOKEN");
        c->cred_source = "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY";
    }
    if (!ak || !*ak || !sk || !*sk)
        return gp_err_set(err, -EINVAL,
                          "s3: no credentials: set blobs_user / blobs_password (access key id / "
                          "secret key) in the config, or AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY");
    int oom = 0;
    char base[1024];
    if (path_style)
        snprintf(base, sizeof(base), "%s://%s/%s/", scheme, hostport, o->host);
    else
        snprintf(base, sizeof(base), "%s://%s.%s/", scheme, o->host, hostport);
    c->bucket = dup_or(o->host, &oom);
    c->prefix = dup_or(prefix, &oom);
    c->region = dup_or(region, &oom);
    c->scheme = dup_or(scheme, &oom);
    c->hostport = dup_or(hostport, &oom);
    c->base = dup_or(base, &oom);
    c->path_style = path_style;
    c->access_key = dup_or(ak, &oom);
    c->secret_key = dup_or(sk, &oom);
    c->session_token = tok && *tok ? dup_or(tok, &oom) : NULL;
    if (oom) {
        s3_conf_free(c);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    return 0;
}

void s3_conf_free(struct s3_conf *c)
{
    free(c->bucket);
    free(c->prefix);
    free(c->region);
    free(c->scheme);
    free(c->hostport);
    free(c->base);
    free(c->access_key);
    if (c->secret_key) {
        explicit_bzero(c->secret_key, strlen(c->secret_key));
        free(c->secret_key);
    }
    if (c->session_token) {
        explicit_bzero(c->session_token, strlen(c->session_token));
        free(c->session_token);
    }
    memset(c, 0, sizeof(*c));
}
