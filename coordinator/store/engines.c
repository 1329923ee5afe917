/* store/engines.c — the engine table (one line per engine, each behind its CMake option), the
 * "this build supports" list generated from it, and the spec parser into typed options. */
#include "coordinator/store/engines.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef GPROF_ENGINE_SQLITE
extern const struct meta_store_ops meta_sqlite_ops;
extern const struct sample_index_ops sample_index_sqlite_ops;
static const struct store_engine engine_sqlite = {
        .version = STORE_ENGINE_VERSION,
        .name = "sqlite",
        .meta = &meta_sqlite_ops,
        .index = &sample_index_sqlite_ops,
};
#endif
#ifdef GPROF_ENGINE_FS
extern const struct blob_store_ops blob_fs_ops;
static const struct store_engine engine_fs = {
        .version = STORE_ENGINE_VERSION,
        .name = "fs",
        .blobs = &blob_fs_ops,
};
#endif
#ifdef GPROF_ENGINE_POSTGRES
extern const struct meta_store_ops meta_postgres_ops;
static const struct store_engine engine_postgres = {
        .version = STORE_ENGINE_VERSION,
        .name = "postgres",
        .network = 1,
        .meta = &meta_postgres_ops,
};
#endif
#ifdef GPROF_ENGINE_S3
extern const struct blob_store_ops blob_s3_ops;
static const struct store_engine engine_s3 = {
        .version = STORE_ENGINE_VERSION,
        .name = "s3",
        .blobs = &blob_s3_ops,
        .network = 1,
};
#endif
#ifdef GPROF_ENGINE_CLICKHOUSE
extern const struct sample_index_ops sample_index_clickhouse_ops;
static const struct store_engine engine_clickhouse = {
        .version = STORE_ENGINE_VERSION,
        .name = "clickhouse",
        .network = 1,
        .index = &sample_index_clickhouse_ops,
};
#endif

const struct store_engine *const store_engines[] = {
#ifdef GPROF_ENGINE_SQLITE
        &engine_sqlite,
#endif
#ifdef GPROF_ENGINE_FS
        &engine_fs,
#endif
#ifdef GPROF_ENGINE_POSTGRES
        &engine_postgres,
#endif
#ifdef GPROF_ENGINE_S3
        &engine_s3,
#endif
#ifdef GPROF_ENGINE_CLICKHOUSE
        &engine_clickhouse,
#endif
        NULL,
};

static const struct {
    const char *what, *example;
} roles[] = {
        [STORE_ROLE_META] = {"metadata store", "sqlite:/var/lib/gprof-coordinator/meta.db"},
        [STORE_ROLE_BLOBS] = {"blob store", "fs:/var/lib/gprof-coordinator/profiles"},
        [STORE_ROLE_INDEX] = {"sample index", "sqlite:/var/lib/gprof-coordinator/index.db"},
};

const struct store_engine *store_engine_find(const char *name, size_t len)
{
    for (int i = 0; store_engines[i]; i++)
        if (strlen(store_engines[i]->name) == len && memcmp(store_engines[i]->name, name, len) == 0)
            return store_engines[i];
    return NULL;
}

const void *store_engine_vtable(const struct store_engine *e, enum store_role role)
{
    switch (role) {
    case STORE_ROLE_META:
        return e->meta;
    case STORE_ROLE_BLOBS:
        return e->blobs;
    case STORE_ROLE_INDEX:
        return e->index;
    }
    return NULL;
}

void store_engines_supported(enum store_role role, char *buf, size_t bufsz)
{
    size_t n = 0;
    if (bufsz)
        buf[0] = 0;
    for (int i = 0; store_engines[i]; i++) {
        if (!store_engine_vtable(store_engines[i], role))
            continue;
        int w = snprintf(buf + n, bufsz > n ? bufsz - n : 0, "%s%s", n ? ", " : "",
                         store_engines[i]->name);
        if (w < 0 || (size_t)w >= bufsz - n)
            return;
        n += (size_t)w;
    }
    if (n == 0)
        snprintf(buf, bufsz, "(none)");
}

static char *dup_n(const char *s, size_t n, int *oom)
{
    char *d = strndup(s, n);
    if (!d)
        *oom = 1;
    return d;
}

void store_engine_options_free(struct store_engine_options *o)
{
    free((char *)o->path);
    free((char *)o->host);
    free((char *)o->user);
    if (o->password) {
        explicit_bzero((char *)o->password, strlen(o->password));
        free((char *)o->password);
    }
    free((char *)o->database);
    free((char *)o->params);
    memset(o, 0, sizeof(*o));
}

int store_engine_options_copy(struct store_engine_options *d, const struct store_engine_options *s)
{
    int oom = 0;
    memset(d, 0, sizeof(*d));
#define CP(f) d->f = s->f ? dup_n(s->f, strlen(s->f), &oom) : NULL
    CP(path);
    CP(host);
    CP(user);
    CP(password);
    CP(database);
    CP(params);
#undef CP
    d->port = s->port;
    if (oom) {
        store_engine_options_free(d);
        return -ENOMEM;
    }
    return 0;
}

void store_engine_options_describe(const struct store_engine_options *o, char *buf, size_t bufsz)
{
    if (o->host)
        snprintf(buf, bufsz, "%s%s%.0d%s%s", o->host, o->port ? ":" : "", o->port,
                 o->database ? "/" : "", o->database ? o->database : "");
    else
        snprintf(buf, bufsz, "%s", o->path ? o->path : "");
}

static struct {
    char *user, *password;
} creds[3];

static void cred_free(int r)
{
    free(creds[r].user);
    if (creds[r].password) {
        explicit_bzero(creds[r].password, strlen(creds[r].password));
        free(creds[r].password);
    }
    creds[r].user = creds[r].password = NULL;
}

int store_engine_credentials_set(enum store_role role, const char *user, const char *password)
{
    cred_free(role);
    if (user && *user && !(creds[role].user = strdup(user)))
        return -ENOMEM;
    if (password && *password && !(creds[role].password = strdup(password)))
        return -ENOMEM;
    return 0;
}

void store_engine_credentials_clear(void)
{
    for (int r = 0; r < 3; r++)
        cred_free(r);
}

/* "//[user[:password]@]host[:port][/database][?params]" */
static int parse_network(const char *s, struct store_engine_options *o, int *oom)
{
    s += 2;
    const char *q = strchr(s, '?');
    size_t slen = q ? (size_t)(q - s) : strlen(s);
    const char *stop = s + slen; /* s moves past user@ below */
    if (q && q[1])
        o->params = dup_n(q + 1, strlen(q + 1), oom);
    const char *slash = memchr(s, '/', slen);
    const char *end = slash ? slash : stop;
    const char *at = memrchr(s, '@', (size_t)(end - s));
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        o->user = dup_n(s, (size_t)((colon ? colon : at) - s), oom);
        if (colon)
            o->password = dup_n(colon + 1, (size_t)(at - colon - 1), oom);
        s = at + 1;
    }
    const char *colon = memchr(s, ':', (size_t)(end - s));
    o->host = dup_n(s, (size_t)((colon ? colon : end) - s), oom);
    if (colon) {
        char *e;
        long p = strtol(colon + 1, &e, 10);
        if (e != end || p <= 0 || p > 65535)
            return -EINVAL;
        o->port = (int)p;
    }
    if (slash && slash + 1 < stop)
        o->database = dup_n(slash + 1, (size_t)(stop - slash - 1), oom);
    return o->host && *o->host ? 0 : -EINVAL;
}

int store_engine_parse(const char *spec, enum store_role role, const struct store_engine **out,
                       struct store_engine_options *opts, struct gp_err *err)
{
    const char *what = roles[role].what;
    char supported[256];
    memset(opts, 0, sizeof(*opts));
    const char *colon = spec ? strchr(spec, ':') : NULL;
    if (!colon)
        return gp_err_set(err, -EINVAL, "%s: expected <engine>:<location>, e.g. %s", what,
                          roles[role].example);
    size_t nl = (size_t)(colon - spec);
    const struct store_engine *e = store_engine_find(spec, nl);
    if (!e || !store_engine_vtable(e, role)) {
        store_engines_supported(role, supported, sizeof(supported));
        return gp_err_set(err, -ENOTSUP, "%s: unknown engine '%.*s'; this build supports: %s", what,
                          (int)(nl > 64 ? 64 : nl), spec, supported);
    }
    int oom = 0;
    if (e->network) {
        if ((strncmp(colon + 1, "//", 2) != 0 || parse_network(colon + 1, opts, &oom) < 0) &&
            !oom) {
            store_engine_options_free(opts);
            return gp_err_set(
                    err, -EINVAL,
                    "%s (%s): expected %s://[user[:password]@]host[:port][/database][?k=v&...]",
                    what, e->name, e->name);
        }
        if (!opts->user && creds[role].user)
            opts->user = dup_n(creds[role].user, strlen(creds[role].user), &oom);
        if (!opts->password && creds[role].password)
            opts->password = dup_n(creds[role].password, strlen(creds[role].password), &oom);
    } else {
        opts->path = dup_n(colon + 1, strlen(colon + 1), &oom);
    }
    if (oom) {
        store_engine_options_free(opts);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    *out = e;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int store_engine_param(const struct store_engine_options *opts, const char *key, char *buf,
                       size_t bufsz)
{
    size_t kl = strlen(key);
    for (const char *p = opts->params; p && *p;) {
        const char *amp = strchr(p, '&');
        const char *end = amp ? amp : p + strlen(p);
        if ((size_t)(end - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t n = 0;
            for (const char *v = p + kl + 1; v < end; v++) {
                int c = (unsigned char)*v;
                if (c == '%') {
                    int hi = v + 2 < end ? hexval(v[1]) : -1, lo = hi >= 0 ? hexval(v[2]) : -1;
                    if (lo < 0)
                        return -EINVAL;
                    c = hi << 4 | lo;
                    v += 2;
                }
                if (n + 1 >= bufsz)
                    return -ENAMETOOLONG;
                buf[n++] = (char)c;
            }
            buf[n] = 0;
            return 1;
        }
        p = amp ? amp + 1 : end;
    }
    return 0;
}
