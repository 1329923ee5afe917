/* users_api.c — people management for admins over HTTP (the web UI's Users page): GET/POST
 * /api/users, PUT/DELETE /api/users/NAME, POST /api/users/NAME/tokens, DELETE
 * /api/users/NAME/tokens/ID. Every call needs the admin role (a cookie session also its CSRF
 * token, see auth.c) and every change, refused or done, goes to the audit log. */
#include "coordinator/api/api.h"
#include "common/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERS_PREFIX "/api/users/"

static json_object *time_json(int64_t t)
{
    if (!t)
        return NULL;
    char buf[40];
    tu_format_z(t, buf, sizeof(buf));
    return json_object_new_string(buf);
}

static int token_cb(const struct meta_token *t, void *ctx)
{
    json_object *o = json_object_new_object();
    if (!o)
        return -ENOMEM;
    json_object_object_add(o, "id", json_object_new_int64(t->id));
    json_object_object_add(o, "prefix", json_object_new_string(t->prefix ? t->prefix : ""));
    json_object_object_add(o, "created_at", time_json(t->created_at));
    json_object_object_add(o, "revoked_at", time_json(t->revoked_at));
    json_object_object_add(o, "last_used", time_json(t->last_used));
    json_object_array_add(ctx, o);
    return 0;
}

struct list_ctx {
    struct meta_db *db;
    json_object *arr;
    struct gp_err *err;
    int rc;
};

static json_object *user_json(struct meta_db *db, const struct meta_user *u, struct gp_err *err,
                              int *rc)
{
    json_object *o = json_object_new_object(), *toks = json_object_new_array();
    if (!o || !toks) {
        json_object_put(o);
        json_object_put(toks);
        *rc = gp_err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    json_object_object_add(o, "name", json_object_new_string(u->name));
    json_object_object_add(o, "role", json_object_new_string(meta_role_name(u->role)));
    json_object_object_add(o, "services", api_services_json(u->services));
    json_object_object_add(o, "created_at", time_json(u->created_at));
    *rc = meta_user_token_list(db, u->name, token_cb, toks, err);
    json_object_object_add(o, "tokens", toks);
    if (*rc) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static int list_cb(const struct meta_user *u, void *ctx)
{
    struct list_ctx *lc = ctx;
    json_object *o = user_json(lc->db, u, lc->err, &lc->rc);
    if (!o)
        return 1;
    json_object_array_add(lc->arr, o);
    return 0;
}

void api_users_list(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    if (!api_ui_need(api, r, w, META_ROLE_ADMIN, NULL))
        return;
    struct gp_err err = {0};
    struct list_ctx lc = {api->store->meta, json_object_new_array(), &err, 0};
    if (!lc.arr) {
        http_resp_msg(w, 500, "out of memory");
        return;
    }
    int rc = meta_user_list(api->store->meta, list_cb, &lc, &err);
    if (!rc)
        rc = lc.rc;
    if (rc) {
        json_object_put(lc.arr);
        api_store_error(w, rc, &err);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "users", lc.arr);
    http_resp_json(w, 200, o);
}

/* body "services": an array of names or one comma-separated string; absent = every service.
 * Writes the comma-separated list; false (and a 400 answered) when it is neither. */
static bool body_services(json_object *body, struct http_resp *w, char *out, size_t outsz)
{
    json_object *v;
    out[0] = '\0';
    if (!json_object_object_get_ex(body, "services", &v) || json_object_is_type(v, json_type_null))
        return true;
    if (json_object_is_type(v, json_type_string)) {
        if (strlen(json_object_get_string(v)) >= outsz) {
            http_resp_msg(w, 400, "services: the list is longer than %zu bytes", outsz - 1);
            return false;
        }
        snprintf(out, outsz, "%s", json_object_get_string(v));
        return true;
    }
    if (!json_object_is_type(v, json_type_array)) {
        http_resp_msg(w, 400, "services must be an array of service names (empty = every one)");
        return false;
    }
    size_t len = 0, n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
        json_object *s = json_object_array_get_idx(v, i);
        if (!json_object_is_type(s, json_type_string)) {
            http_resp_msg(w, 400, "services[%zu] must be a string", i);
            return false;
        }
        const char *name = json_object_get_string(s);
        int k = snprintf(out + len, outsz - len, "%s%s", len ? "," : "", name);
        if (k < 0 || (size_t)k >= outsz - len) {
            http_resp_msg(w, 400, "services: the list is longer than %zu bytes", outsz - 1);
            return false;
        }
        len += (size_t)k;
    }
    return true;
}

static const char *body_str(json_object *body, const char *k)
{
    json_object *v;
    if (!json_object_object_get_ex(body, k, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* The status for a store error of a user change: 404, 409, 400 or 0 (then api_store_error). */
static int change_status(int rc)
{
    return rc == -ENOENT ? 404 : rc == -EEXIST ? 409 : rc == -EINVAL ? 400 : 0;
}

/* Answers and audits the outcome of one change. */
static void change_done(struct coord_api *api, const struct http_req *r, struct http_resp *w,
                        const struct auth_ident *id, const char *action, const char *target, int rc,
                        const struct gp_err *err, int ok_status, json_object *ok_body)
{
    if (rc) {
        json_object_put(ok_body);
        int st = change_status(rc);
        api_audit(api, r, id, action, target, "failed", st ? st : 500, err->msg);
        if (st)
            http_resp_msg(w, st, "%s", err->msg);
        else
            api_store_error(w, rc, err);
        return;
    }
    api_audit(api, r, id, action, target, "ok", ok_status, "");
    if (ok_body)
        http_resp_json(w, ok_status, ok_body);
    else
        http_resp_msg(w, ok_status, "%s: %s done", target, action);
}

/* The user's JSON (tokens included) after a change, or NULL (rc set) */
static json_object *user_after(struct coord_api *api, const char *name, struct gp_err *err, int *rc)
{
    struct meta_user u = {0};
    *rc = meta_user_get(api->store->meta, name, &u, err);
    if (*rc)
        return NULL;
    json_object *o = user_json(api->store->meta, &u, err, rc);
    meta_user_clear(&u);
    return o;
}

void api_users_add(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct auth_ident id;
    if (!api_ui_need(api, r, w, META_ROLE_ADMIN, &id))
        return;
    json_object *body = api_json_body(r, w);
    if (!body)
        return;
    const char *name = body_str(body, "name"), *role = body_str(body, "role");
    const char *pw = body_str(body, "password");
    char svc[META_SERVICES_MAX];
    if (!name || !*name || !role || !pw || !*pw) {
        json_object_put(body);
        http_resp_msg(w, 400,
                      "body must be {\"name\": \"...\", \"role\": \"viewer|operator|admin\", "
                      "\"password\": \"...\", \"services\": [...]}");
        return;
    }
    if (!body_services(body, w, svc, sizeof(svc))) {
        json_object_put(body);
        return;
    }
    char target[META_USER_NAME_MAX];
    snprintf(target, sizeof(target), "%s", name);
    int rl = meta_role_parse(role);
    struct gp_err err = {0};
    int rc = rl == META_ROLE_NONE
                     ? gp_err_set(&err, -EINVAL, "role must be viewer, operator or admin")
                     : meta_user_add(api->store->meta, name, rl, svc, pw, NULL, &err);
    json_object_put(body); /* the password goes with it */
    json_object *o = rc ? NULL : user_after(api, target, &err, &rc);
    change_done(api, r, w, &id, "user add", target, rc, &err, 201, o);
}

/* Splits /api/users/NAME[/tokens[/ID]] into name (copied) and the rest; false when malformed. */
static bool parse_path(const char *path, char *name, size_t namesz, const char **rest)
{
    const char *p = path + strlen(USERS_PREFIX);
    size_t n = strcspn(p, "/");
    if (!n || n >= namesz)
        return false;
    memcpy(name, p, n);
    name[n] = '\0';
    *rest = p + n;
    return true;
}

/* The token id of a /tokens/ID rest, or -1 */
static int64_t token_id(const char *rest)
{
    if (strncmp(rest, "/tokens/", 8) != 0)
        return -1;
    char *end;
    long long v = strtoll(rest + 8, &end, 10);
    return *end || end == rest + 8 || v <= 0 ? -1 : (int64_t)v;
}

void api_users_change(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct auth_ident id;
    if (!api_ui_need(api, r, w, META_ROLE_ADMIN, &id))
        return;
    char name[META_USER_NAME_MAX];
    const char *rest;
    if (!parse_path(r->path, name, sizeof(name), &rest)) {
        http_resp_msg(w, 404, "no such resource: use /api/users/NAME");
        return;
    }
    struct gp_err err = {0};
    int rc;
    bool self = id.user_id && strcmp(id.who, name) == 0;
    if (strcmp(r->method, "PUT") == 0 && !*rest) { /* role and services */
        json_object *body = api_json_body(r, w);
        if (!body)
            return;
        const char *role = body_str(body, "role");
        char svc[META_SERVICES_MAX];
        if (!role) {
            json_object_put(body);
            http_resp_msg(w, 400,
                          "body must be {\"role\": \"viewer|operator|admin\", "
                          "\"services\": [...]} (services absent or [] = every one)");
            return;
        }
        if (!body_services(body, w, svc, sizeof(svc))) {
            json_object_put(body);
            return;
        }
        int rl = meta_role_parse(role);
        json_object_put(body);
        if (self && (rl != META_ROLE_ADMIN || svc[0])) {
            http_resp_msg(w, 409,
                          "you cannot lower your own role or limit your own services: "
                          "ask another admin");
            api_audit(api, r, &id, "user set", name, "denied", 409, "own role");
            return;
        }
        rc = rl == META_ROLE_NONE
                     ? gp_err_set(&err, -EINVAL, "role must be viewer, operator or admin")
                     : meta_user_set_role(api->store->meta, name, rl, svc, &err);
        json_object *o = rc ? NULL : user_after(api, name, &err, &rc);
        change_done(api, r, w, &id, "user set", name, rc, &err, 200, o);
        return;
    }
    if (strcmp(r->method, "DELETE") == 0 && !*rest) { /* the user */
        if (self) {
            http_resp_msg(w, 409, "you cannot remove yourself: ask another admin");
            api_audit(api, r, &id, "user remove", name, "denied", 409, "self");
            return;
        }
        rc = meta_user_remove(api->store->meta, name, &err);
        change_done(api, r, w, &id, "user remove", name, rc, &err, 200, NULL);
        return;
    }
    if (strcmp(r->method, "POST") == 0 && strcmp(rest, "/tokens") == 0) { /* a new token */
        char tok[META_TOKEN_MAX];
        int64_t tid = 0;
        rc = meta_user_token_create(api->store->meta, name, tok, sizeof(tok), &tid, &err);
        json_object *o = NULL;
        if (!rc) {
            o = json_object_new_object();
            json_object_object_add(o, "id", json_object_new_int64(tid));
            json_object_object_add(o, "token", json_object_new_string(tok));
            explicit_bzero(tok, sizeof(tok));
        }
        change_done(api, r, w, &id, "user token", name, rc, &err, 201, o);
        return;
    }
    int64_t tid = token_id(rest);
    if (strcmp(r->method, "DELETE") == 0 && tid > 0) { /* revoke one token of this user */
        struct meta_user u = {0};
        rc = meta_user_get(api->store->meta, name, &u, &err);
        if (!rc) {
            meta_user_clear(&u);
            /* the token must be this user's: look it up among theirs */
            json_object *toks = json_object_new_array();
            rc = toks ? meta_user_token_list(api->store->meta, name, token_cb, toks, &err)
                      : gp_err_set(&err, -ENOMEM, "out of memory");
            bool mine = false;
            for (size_t i = 0; !rc && i < json_object_array_length(toks); i++) {
                json_object *t = json_object_array_get_idx(toks, i), *v;
                if (json_object_object_get_ex(t, "id", &v) && json_object_get_int64(v) == tid)
                    mine = true;
            }
            json_object_put(toks);
            if (!rc && !mine)
                rc = gp_err_set(&err, -ENOENT, "user '%s' has no token %lld", name, (long long)tid);
        }
        if (!rc)
            rc = meta_user_token_revoke(api->store->meta, tid, &err);
        char target[META_USER_NAME_MAX + 32];
        snprintf(target, sizeof(target), "%s token %lld", name, (long long)tid);
        json_object *o = rc ? NULL : user_after(api, name, &err, &rc);
        change_done(api, r, w, &id, "user token revoke", target, rc, &err, 200, o);
        return;
    }
    http_resp_msg(w, 404,
                  "no such resource: PUT or DELETE /api/users/NAME, POST /api/users/NAME/tokens, "
                  "DELETE /api/users/NAME/tokens/ID");
}
