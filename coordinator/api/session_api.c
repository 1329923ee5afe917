/* session_api.c — signing in and out of the web UI: POST /api/login (name + password -> an
 * HttpOnly SameSite=Strict session cookie and the CSRF token), POST /api/logout, GET /api/me. */
#include "coordinator/api/api.h"
#include "coordinator/http/ratelimit.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static json_object *ident_json(const char *name, int role, const char *services, const char *via)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "role", json_object_new_string(meta_role_name(role)));
    json_object_object_add(o, "services", api_services_json(services));
    json_object_object_add(o, "via", json_object_new_string(via));
    return o;
}

static const char *str_member(json_object *o, const char *k)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* true when neither the address nor the name has used up its failed sign-ins; else answers 429
 * with Retry-After and audits the attempt as refused (the limiter logs once per burst). */
static bool login_allowed(struct coord_api *api, const struct http_req *r, struct http_resp *w,
                          const struct auth_ident *id, const char *addr_key, const char *name_key)
{
    int64_t now = http_ratelimit_now_ms();
    unsigned ra = 0, rn = 0;
    bool a_ok = http_ratelimit_check(api->login_rl, addr_key, now, &ra);
    bool n_ok = http_ratelimit_check(api->login_rl, name_key, now, &rn);
    if (a_ok && n_ok)
        return true;
    unsigned retry = ra > rn ? ra : rn;
    char msg[256];
    snprintf(msg, sizeof(msg),
             "too many failed sign-ins %s %s (login_rate %g/s, burst %u); retry after %u s",
             a_ok ? "for" : "from", a_ok ? name_key : addr_key, api->login_rate, api->login_burst,
             retry);
    http_resp_msg(w, 429, "%s", msg);
    snprintf(w->retry_after, sizeof(w->retry_after), "%u", retry);
    api_audit(api, r, id, "login", "", "refused", 429, msg);
    return false;
}

void api_login(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct auth_ident id = {0};
    http_client_ip(r, id.ip, sizeof(id.ip));
    json_object *body = api_json_body(r, w);
    if (!body)
        return;
    const char *name = str_member(body, "name");
    if (!name)
        name = str_member(body, "username");
    const char *pw = str_member(body, "password");
    if (!name || !pw || !*name || strlen(name) >= META_USER_NAME_MAX) {
        json_object_put(body);
        http_resp_msg(w, 400, "body must be {\"name\": \"...\", \"password\": \"...\"}");
        return;
    }
    snprintf(id.who, sizeof(id.who), "%s", name);
    char addr_key[80], name_key[META_USER_NAME_MAX + 8];
    snprintf(addr_key, sizeof(addr_key), "ip:%s", id.ip);
    snprintf(name_key, sizeof(name_key), "user:%s", name);
    if (api->login_rl && !login_allowed(api, r, w, &id, addr_key, name_key)) {
        json_object_put(body);
        return;
    }
    struct gp_err err = {0};
    struct meta_user u = {0};
    int rc = meta_user_check_password(api->store->meta, name, pw, &u, &err);
    json_object_put(body); /* the password goes with it */
    if (rc == -EACCES) {
        int64_t now = http_ratelimit_now_ms();
        http_ratelimit_charge(api->login_rl, addr_key, now);
        http_ratelimit_charge(api->login_rl, name_key, now);
        http_resp_msg(w, 401, "wrong user name or password");
        api_audit(api, r, &id, "login", "", "denied", 401, "wrong user name or password");
        return;
    }
    if (rc) {
        api_store_error(w, rc, &err);
        return;
    }
    char sid[META_TOKEN_MAX], csrf[META_TOKEN_MAX];
    rc = meta_session_create(api->store->meta, u.id, coord_now(), api->session_ttl_s, sid,
                             sizeof(sid), csrf, sizeof(csrf), &err);
    if (rc) {
        meta_user_clear(&u);
        api_store_error(w, rc, &err);
        return;
    }
    snprintf(w->set_cookie, sizeof(w->set_cookie),
             AUTH_SESSION_COOKIE "=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s", sid,
             (long long)api->session_ttl_s, api->tls ? "; Secure" : "");
    json_object *o = ident_json(u.name, u.role, u.services, "session");
    json_object_object_add(o, "csrf_token", json_object_new_string(csrf));
    json_object_object_add(o, "expires_in", json_object_new_int64(api->session_ttl_s));
    api_audit(api, r, &id, "login", "", "ok", 200, "");
    meta_user_clear(&u);
    http_resp_json(w, 200, o);
}

void api_logout(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct auth_ident id;
    struct gp_err err = {0};
    char sid[META_TOKEN_MAX];
    /* who it was, for the log; a missing CSRF token does not keep anyone signed in */
    if (auth_identify(api->auth, r, coord_now(), &id, &err) != 0 && err.code != -EPERM)
        snprintf(id.who, sizeof(id.who), "anonymous");
    if (auth_session_cookie(r, sid, sizeof(sid))) {
        int rc = meta_session_delete(api->store->meta, sid, &err);
        if (rc) {
            api_store_error(w, rc, &err);
            return;
        }
    }
    snprintf(w->set_cookie, sizeof(w->set_cookie),
             AUTH_SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
             api->tls ? "; Secure" : "");
    api_audit(api, r, &id, "logout", "", "ok", 200, "");
    http_resp_msg(w, 200, "signed out");
}

void api_me(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct auth_ident id;
    if (!api_ui_need(api, r, w, META_ROLE_VIEWER, &id))
        return;
    http_resp_json(w, 200, ident_json(id.who, id.role, id.services, id.via));
}
