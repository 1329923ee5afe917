/* backends/sqlite/users.c — people: users with a role and service list, yescrypt hashes
 * (libcrypt), their API tokens (secrets.c, as agent tokens) and UI sessions (SHA-256 secrets). */
#include "coordinator/store/meta/meta.h"
#include "coordinator/backends/sqlite/secrets.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_PREFIX "gps_"
#define CSRF_PREFIX    "gpc_"

static const char *const role_names[] = {"none", "viewer", "operator", "admin"};

const char *meta_role_name(int role)
{
    return role >= META_ROLE_VIEWER && role <= META_ROLE_ADMIN ? role_names[role] : "none";
}

int meta_role_parse(const char *s)
{
    for (int i = META_ROLE_VIEWER; s && i <= META_ROLE_ADMIN; i++)
        if (strcmp(s, role_names[i]) == 0)
            return i;
    return META_ROLE_NONE;
}

void meta_user_clear(struct meta_user *u)
{
    if (!u)
        return;
    free(u->name);
    free(u->services);
    memset(u, 0, sizeof(*u));
}

static int check_name(const char *name, struct gp_err *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= META_USER_NAME_MAX)
        return gp_err_set(err, -EINVAL, "a user name is 1 to %d characters",
                          META_USER_NAME_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '@' || c == '-'))
            return gp_err_set(err, -EINVAL,
                              "user name '%.64s': only letters, digits and _ . @ - are allowed",
                              name);
    }
    return 0;
}

/* "a, b,c" -> "a,b,c" with every name sanitised like a service name. */
static int normalize_services(const char *in, char *out, size_t outsz, struct gp_err *err)
{
    out[0] = '\0';
    size_t len = 0;
    const char *p = in ? in : "";
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char raw[META_NAME_MAX], clean[META_NAME_MAX];
        if (n >= sizeof(raw))
            return gp_err_set(err, -EINVAL, "service name too long in '%.80s'", in);
        memcpy(raw, p, n);
        raw[n] = '\0';
        size_t cn = meta_service_sanitize(raw, clean, sizeof(clean));
        if (cn) {
            if (len + cn + 2 > outsz)
                return gp_err_set(err, -EINVAL, "service list longer than %zu bytes", outsz - 1);
            if (len)
                out[len++] = ',';
            memcpy(out + len, clean, cn + 1);
            len += cn;
        } else if (strspn(raw, " \t") != n) {
            return gp_err_set(err, -EINVAL, "'%.80s' is not a service name", raw);
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int hash_password(const char *password, char *out, size_t outsz, struct gp_err *err)
{
    if (!password || !*password)
        return gp_err_set(err, -EINVAL, "the password is empty");
    if (strlen(password) >= META_PASSWORD_MAX)
        return gp_err_set(err, -EINVAL, "the password is longer than %d bytes",
                          META_PASSWORD_MAX - 1);
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)))
        return gp_err_set(err, -errno ? -errno : -EIO, "crypt_gensalt($y$): %s", strerror(errno));
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    if (!cd)
        return gp_err_set(err, -ENOMEM, "out of memory");
    const char *h = crypt_r(password, salt, cd);
    int rc = 0;
    if (!h || h[0] == '*' || strlen(h) >= outsz)
        rc = gp_err_set(err, -EIO, "crypt(yescrypt) failed: %s", strerror(errno));
    else
        snprintf(out, outsz, "%s", h);
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return rc;
}

/* 1 when password hashes to stored (constant time over the hash). */
static int verify_password(const char *password, const char *stored)
{
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    if (!cd)
        return 0;
    const char *h = crypt_r(password, stored, cd);
    int ok = 0;
    if (h && h[0] != '*') {
        size_t lh = strlen(h), ls = strlen(stored);
        unsigned char d = lh != ls;
        for (size_t i = 0; i < lh && i < ls; i++)
            d |= (unsigned char)(h[i] ^ stored[i]);
        ok = d == 0;
    }
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return ok;
}

int meta_user_add(struct meta_db *db, const char *name, int role, const char *services,
                  const char *password, int64_t *id_out, struct gp_err *err)
{
    int rc = check_name(name, err);
    if (rc < 0)
        return rc;
    if (role < META_ROLE_VIEWER || role > META_ROLE_ADMIN)
        return gp_err_set(err, -EINVAL, "role must be viewer, operator or admin");
    char svc[META_SERVICES_MAX], hash[256];
    if ((rc = normalize_services(services, svc, sizeof(svc), err)) < 0)
        return rc;
    if ((rc = hash_password(password, hash, sizeof(hash), err)) < 0)
        return rc;
    struct meta_value p[] = {META_T(name), META_T(meta_role_name(role)), META_T(svc), META_T(hash),
                             META_I(meta_now())};
    int64_t id = 0;
    rc = meta_query_int(db,
                        "INSERT INTO users (name, role, services, password_hash, created_at) "
                        "VALUES (?, ?, ?, ?, ?) RETURNING id",
                        p, 5, &id, err);
    explicit_bzero(hash, sizeof(hash));
    if (rc == -EEXIST)
        return gp_err_set(err, -EEXIST, "user '%s' exists", name);
    if (rc == 0 && id_out)
        *id_out = id;
    return rc;
}

int meta_user_set_password(struct meta_db *db, const char *name, const char *password,
                           struct gp_err *err)
{
    char hash[256];
    int rc = hash_password(password, hash, sizeof(hash), err);
    if (rc < 0)
        return rc;
    struct meta_value p[] = {META_T(hash), META_T(name)};
    int64_t changes = 0;
    rc = meta_exec(db, "UPDATE users SET password_hash = ? WHERE name = ?", p, 2, &changes, err);
    explicit_bzero(hash, sizeof(hash));
    if (rc == 0 && !changes)
        return gp_err_set(err, -ENOENT, "no user '%s'", name);
    if (rc == 0) { /* a new password ends the sessions signed in with the old one */
        struct meta_value q = META_T(name);
        rc = meta_exec(db,
                       "DELETE FROM user_sessions WHERE user_id IN "
                       "(SELECT id FROM users WHERE name = ?)",
                       &q, 1, NULL, err);
    }
    return rc;
}

int meta_user_remove(struct meta_db *db, const char *name, struct gp_err *err)
{
    int64_t id;
    struct meta_value p = META_T(name);
    int rc = meta_query_int(db, "SELECT id FROM users WHERE name = ?", &p, 1, &id, err);
    if (rc == -ENOENT)
        return gp_err_set(err, -ENOENT, "no user '%s'", name);
    if (rc < 0)
        return rc;
    if ((rc = meta_begin(db, err)) < 0)
        return rc;
    struct meta_value q = META_I(id);
    rc = meta_exec(db, "DELETE FROM user_sessions WHERE user_id = ?", &q, 1, NULL, err);
    if (rc == 0)
        rc = meta_exec(db, "DELETE FROM user_tokens WHERE user_id = ?", &q, 1, NULL, err);
    if (rc == 0)
        rc = meta_exec(db, "DELETE FROM users WHERE id = ?", &q, 1, NULL, err);
    if (rc == 0)
        return meta_commit(db, err);
    meta_rollback(db);
    return rc;
}

struct user_ctx {
    meta_user_cb cb;
    void *ctx;
    struct meta_user *out; /* single-row lookups */
    char hash[256];        /* password_hash when selected */
    int64_t extra;         /* a 7th column (the token id) when selected */
    int found;
    int rc;
};

#define USER_COLS "u.id, u.name, u.role, u.services, u.created_at, u.password_hash"

static int user_row(const struct meta_row *r, void *ctx)
{
    struct user_ctx *uc = ctx;
    int oom = 0;
    struct meta_user u = {
            .id = meta_row_int(r, 0),
            .name = meta_row_strdup(r, 1, &oom),
            .role = meta_role_parse(meta_row_text(r, 2)),
            .services = meta_row_strdup(r, 3, &oom),
            .created_at = meta_row_int(r, 4),
    };
    uc->found = 1;
    const char *h = r->ncols > 5 ? meta_row_text(r, 5) : NULL;
    snprintf(uc->hash, sizeof(uc->hash), "%s", h ? h : "");
    uc->extra = r->ncols > 6 ? meta_row_int(r, 6) : 0;
    if (oom) {
        meta_user_clear(&u);
        uc->rc = -ENOMEM;
        return 1;
    }
    if (uc->out) {
        *uc->out = u;
        return 1;
    }
    int rc = uc->cb(&u, uc->ctx);
    meta_user_clear(&u);
    return rc;
}

static int user_query(struct meta_db *db, const char *sql, const struct meta_value *p, int np,
                      struct user_ctx *uc, struct gp_err *err)
{
    int rc = meta_query(db, sql, p, np, user_row, uc, err);
    if (uc->rc < 0)
        return gp_err_set(err, uc->rc, "out of memory");
    return rc < 0 ? rc : 0;
}

int meta_user_get(struct meta_db *db, const char *name, struct meta_user *out, struct gp_err *err)
{
    struct meta_user tmp = {0};
    struct user_ctx uc = {.out = &tmp};
    struct meta_value p = META_T(name ? name : "");
    int rc = user_query(db, "SELECT " USER_COLS " FROM users u WHERE u.name = ?", &p, 1, &uc, err);
    explicit_bzero(uc.hash, sizeof(uc.hash));
    if (rc < 0)
        return rc;
    if (!uc.found)
        return gp_err_set(err, -ENOENT, "no user '%s'", name ? name : "");
    if (out)
        *out = tmp;
    else
        meta_user_clear(&tmp);
    return 0;
}

int meta_user_list(struct meta_db *db, meta_user_cb cb, void *ctx, struct gp_err *err)
{
    struct user_ctx uc = {.cb = cb, .ctx = ctx};
    return user_query(db,
                      "SELECT u.id, u.name, u.role, u.services, u.created_at FROM users u "
                      "ORDER BY u.name",
                      NULL, 0, &uc, err);
}

/* A yescrypt hash of nothing in particular, checked against for unknown names. */
#define DUMMY_HASH "$y$j9T$mF0ayIIyGzBnUOdkSkTgS/$0VpXAZ8HMtqU8zUtK7IJE2KS6vX2Kx3W2hQvH6.9Go7"

int meta_user_check_password(struct meta_db *db, const char *name, const char *password,
                             struct meta_user *out, struct gp_err *err)
{
    struct meta_user tmp = {0};
    struct user_ctx uc = {.out = &tmp};
    struct meta_value p = META_T(name ? name : "");
    int rc = user_query(db, "SELECT " USER_COLS " FROM users u WHERE u.name = ?", &p, 1, &uc, err);
    if (rc < 0)
        return rc;
    int ok = verify_password(password ? password : "", uc.found ? uc.hash : DUMMY_HASH);
    explicit_bzero(uc.hash, sizeof(uc.hash));
    if (!uc.found || !ok || !password || !*password) {
        meta_user_clear(&tmp);
        return gp_err_set(err, -EACCES, "wrong user name or password");
    }
    if (out)
        *out = tmp;
    else
        meta_user_clear(&tmp);
    return 0;
}

int meta_user_token_create(struct meta_db *db, const char *name, char *token, size_t token_sz,
                           int64_t *id_out, struct gp_err *err)
{
    struct meta_user u = {0};
    int rc = meta_user_get(db, name, &u, err);
    if (rc < 0)
        return rc;
    int64_t uid = u.id;
    meta_user_clear(&u);
    return meta_secret_create(db, &meta_user_tokens, uid, token, token_sz, id_out, err);
}

int meta_user_token_list(struct meta_db *db, const char *name, meta_token_cb cb, void *ctx,
                         struct gp_err *err)
{
    return meta_secret_list(db, &meta_user_tokens, name, cb, ctx, err);
}

int meta_user_token_revoke(struct meta_db *db, int64_t id, struct gp_err *err)
{
    return meta_secret_revoke(db, &meta_user_tokens, id, err);
}

int meta_user_token_validate(struct meta_db *db, const char *token, struct meta_user *out,
                             int64_t *token_id, struct gp_err *err)
{
    if (!token || strncmp(token, meta_user_tokens.prefix, 4) != 0 ||
        strlen(token) >= META_TOKEN_MAX)
        return gp_err_set(err, -EACCES, "invalid or revoked token");
    char hash[65];
    meta_secret_hash(token, hash, NULL);
    struct meta_user tmp = {0};
    struct user_ctx uc = {.out = &tmp};
    struct meta_value p = META_T(hash);
    int rc = user_query(db,
                        "SELECT " USER_COLS ", t.id FROM user_tokens t "
                        "JOIN users u ON u.id = t.user_id "
                        "WHERE t.token_hash = ? AND t.revoked_at IS NULL",
                        &p, 1, &uc, err);
    explicit_bzero(uc.hash, sizeof(uc.hash));
    if (rc < 0)
        return rc;
    if (!uc.found)
        return gp_err_set(err, -EACCES, "invalid or revoked token");
    if (token_id)
        *token_id = uc.extra;
    if (out)
        *out = tmp;
    else
        meta_user_clear(&tmp);
    return 0;
}

int meta_session_create(struct meta_db *db, int64_t user_id, int64_t now, int64_t ttl_s, char *sid,
                        size_t sid_sz, char *csrf, size_t csrf_sz, struct gp_err *err)
{
    int rc = meta_random_token(SESSION_PREFIX, sid, sid_sz, err);
    if (rc == 0)
        rc = meta_random_token(CSRF_PREFIX, csrf, csrf_sz, err);
    if (rc < 0)
        return rc;
    char sh[65], ch[65];
    meta_secret_hash(sid, sh, NULL);
    meta_secret_hash(csrf, ch, NULL);
    struct meta_value d = META_I(now);
    /* expired sessions go as new ones come */
    rc = meta_exec(db, "DELETE FROM user_sessions WHERE expires_at < ?", &d, 1, NULL, err);
    struct meta_value p[] = {META_I(user_id), META_T(sh), META_T(ch), META_I(now),
                             META_I(now + ttl_s)};
    if (rc == 0)
        rc = meta_exec(db,
                       "INSERT INTO user_sessions (user_id, session_hash, csrf_hash, created_at, "
                       "expires_at) VALUES (?, ?, ?, ?, ?)",
                       p, 5, NULL, err);
    if (rc < 0) {
        memset(sid, 0, sid_sz);
        memset(csrf, 0, csrf_sz);
    }
    return rc;
}

int meta_session_get(struct meta_db *db, const char *sid, const char *csrf, int64_t now,
                     struct meta_user *out, int *csrf_ok, struct gp_err *err)
{
    if (csrf_ok)
        *csrf_ok = 0;
    if (!sid || strncmp(sid, SESSION_PREFIX, 4) != 0 || strlen(sid) >= META_TOKEN_MAX)
        return gp_err_set(err, -EACCES, "no such session (sign in again)");
    char sh[65], ch[65] = "";
    meta_secret_hash(sid, sh, NULL);
    if (csrf && *csrf && strlen(csrf) < META_TOKEN_MAX)
        meta_secret_hash(csrf, ch, NULL);
    struct meta_user tmp = {0};
    struct user_ctx uc = {.out = &tmp};
    struct meta_value p[] = {META_T(sh), META_I(now)};
    /* the CSRF hash rides in the password_hash column slot of USER_COLS */
    int rc = user_query(db,
                        "SELECT u.id, u.name, u.role, u.services, u.created_at, s.csrf_hash "
                        "FROM user_sessions s JOIN users u ON u.id = s.user_id "
                        "WHERE s.session_hash = ? AND s.expires_at >= ?",
                        p, 2, &uc, err);
    if (rc < 0)
        return rc;
    if (!uc.found)
        return gp_err_set(err, -EACCES, "no such session or it expired (sign in again)");
    if (csrf_ok)
        *csrf_ok = ch[0] && strcmp(ch, uc.hash) == 0;
    if (out)
        *out = tmp;
    else
        meta_user_clear(&tmp);
    return 0;
}

int meta_session_delete(struct meta_db *db, const char *sid, struct gp_err *err)
{
    if (!sid || !*sid)
        return 0;
    char sh[65];
    meta_secret_hash(sid, sh, NULL);
    struct meta_value p = META_T(sh);
    return meta_exec(db, "DELETE FROM user_sessions WHERE session_hash = ?", &p, 1, NULL, err);
}
