/* agent_api.c — the endpoints gProfiler agents (and ours) call: health check, profile upload,
 * heartbeat and command completion; wire-compatible with Performance Studio. */
#include "coordinator/api/api.h"
#include "coordinator/api/control_json.h"
#include "coordinator/api/envelope.h"
#include "common/timeutil.h"
#include "common/gzip.h"
#include "coordinator/store/ingest.h"
#include "common/base64.h"
#include "common/hash.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_health(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    const char *key = http_header(r, "GPROFILER-API-KEY");
    const char *svc = http_header(r, "GPROFILER-SERVICE-NAME");
    if (key && svc && api->auth->enabled && !strstr(r->path, "webapp")) {
        struct gp_err err = {0};
        if (auth_check_agent(api->auth, r, svc, NULL, 0, coord_now(), &err) != 0) {
            http_resp_msg(w, 400, "Invalid API key");
            return;
        }
    }
    http_resp_msg(w, 200, "ok");
}

static bool valid_upload_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

static void safe_component(const char *in, char *out, size_t outsz)
{
    size_t n = 0;
    for (const char *p = in; *p && n + 1 < outsz; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        out[n++] = ok ? c : '_';
    }
    if (n == 0)
        out[n++] = 'x';
    out[n] = '\0';
    if (out[0] == '.')
        out[0] = '_';
}

/* The blob key prefix of a host's PerfSpect reports: perfspect/<service>/<host>/. */
void api_perfspect_prefix(const char *service, const char *host, char *out, size_t len)
{
    char hs[128];
    safe_component(host, hs, sizeof(hs));
    snprintf(out, len, "perfspect/%s/%s/", service, hs);
}

/* Points <prefix>latest at key (the name of the newest report, so html_metadata reads it
 * without listing the host's reports on a blob store where listing is slow, S3) unless it
 * already names a newer one. Report names start with their end time: the larger is newer. */
static int perfspect_point_latest(struct coord_api *api, const char *prefix, const char *key,
                                  struct gp_err *err)
{
    char ptr[512];
    snprintf(ptr, sizeof(ptr), "%s%s", prefix, API_PERFSPECT_LATEST);
    void *cur = NULL;
    size_t len = 0;
    struct gp_err e = {0};
    if (blob_get(api->store->blobs, ptr, &cur, &len, 1024, &e) == 0) {
        char named[1025];
        memcpy(named, cur, len);
        named[len] = '\0';
        free(cur);
        if (strcmp(named, key) >= 0)
            return 0;
    }
    return blob_put(api->store->blobs, ptr, key, strlen(key), err);
}

/* Keeps the upload's PerfSpect report (base64 of gzip'd HTML) as
 * perfspect/<service>/<host>/<end time>_<upload id>.html, and that name in
 * perfspect/<service>/<host>/latest. A bad report is logged, never a
 * reason to refuse the profile it came with. */
static void store_perfspect_report(struct coord_api *api, const char *service, const char *host,
                                   int64_t end_time, const char *uid,
                                   const struct upload_envelope *env)
{
    struct strbuf gz = STRBUF_INIT;
    struct gp_err err = {0};
    char *html = NULL, key[512], prefix[400], ts[32];
    size_t html_len = 0;
    int rc = gp_base64_decode(env->htmlblob, env->htmlblob_len, &gz, &err);
    if (!rc)
        rc = gz_inflate(gz.buf, gz.len, 32u << 20, &html, &html_len, &err);
    if (!rc) {
        api_perfspect_prefix(service, host, prefix, sizeof(prefix));
        tu_format(end_time, ts, sizeof(ts));
        for (char *p = ts; *p; p++)
            if (*p == ':')
                *p = '-';
        snprintf(key, sizeof(key), "%s%s_%s.html", prefix, ts, uid);
        rc = blob_put(api->store->blobs, key, html, html_len, &err);
    }
    if (!rc)
        rc = perfspect_point_latest(api, prefix, key, &err);
    if (rc)
        gp_warn("upload %s: PerfSpect report (htmlblob) not stored: %s", uid, err.msg);
    free(html);
    sb_free(&gz);
}

void api_profiles(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct gp_err err = {0};
    int64_t now = coord_now();
    const char *svc = http_header(r, "GPROFILER-SERVICE-NAME");
    if (!svc || !*svc)
        svc = http_query(r, "service");
    if (!svc || !*svc) {
        http_resp_msg(w, 400, "Invalid GPROFILER-SERVICE-NAME header");
        return;
    }
    char clean[META_NAME_MAX];
    if (meta_service_sanitize(svc, clean, sizeof(clean)) == 0) {
        http_resp_msg(w, 400,
                      "Invalid GPROFILER-SERVICE-NAME header: '%.80s' has no characters from "
                      "[A-Za-z0-9_.-]",
                      svc);
        return;
    }
    if (auth_check_agent(api->auth, r, clean, NULL, 0, now, &err) != 0) {
        http_resp_msg(w, err.code == -EACCES ? 401 : 500, "%s", err.msg);
        return;
    }
    const char *uid = http_header(r, "X-Gprof-Upload-Id");
    char uidbuf[40];
    if (uid && *uid) {
        if (!valid_upload_id(uid)) {
            http_resp_msg(w, 400, "invalid X-Gprof-Upload-Id header: use 1..64 of [A-Za-z0-9_-]");
            return;
        }
    } else {
        /* a retried upload carries the same body: its hash identifies it */
        uint64_t h = gp_hash_bytes(GP_HASH_SEED, clean, strlen(clean) + 1);
        h = gp_hash_bytes(h, r->body, r->body_len);
        uint64_t h2 = gp_hash_mix(gp_hash_bytes(h ^ 0x9e3779b97f4a7c15ULL, r->body, r->body_len));
        snprintf(uidbuf, sizeof(uidbuf), "b%016llx%016llx", (unsigned long long)gp_hash_mix(h),
                 (unsigned long long)h2);
        uid = uidbuf;
    }
    /* A gzip'd body is stored as received unless the header had to change: then only is the
     * re-serialised text needed. */
    bool keep_wire = r->was_gzip && r->wire;
    struct upload_envelope env;
    int rc = envelope_parse_ex(r->body, r->body_len, keep_wire ? ENVELOPE_TEXT_IF_CHANGED : 0, &env,
                               &err);
    if (rc) {
        http_resp_msg(w, rc == -E2BIG ? 413 : rc == -ENOMEM ? 500 : 400, "%s", err.msg);
        return;
    }
    const char *host = env.hostname[0] ? env.hostname : http_query(r, "hostname");
    if (!host || !*host) {
        envelope_free(&env);
        http_resp_msg(w, 400, "Missing parameter hostname (in the body or the query string)");
        return;
    }
    struct ingest_request in = {.service = clean,
                                .hostname = host,
                                .start_time = env.start_time,
                                .end_time = env.end_time,
                                .cpu_avg = env.cpu_avg,
                                .mem_avg = env.mem_avg,
                                .continuous = env.continuous,
                                .upload_id = uid,
                                .text = env.text,
                                .text_len = env.text_len};
    /* Nothing had to be removed from the header: keep the agent's own gzip stream instead of
     * compressing the text again (the indexer unpacks the envelope). */
    if (keep_wire && !env.text) {
        in.envelope_gz = r->wire;
        in.envelope_gz_len = r->wire_len;
    }
    int64_t pid = 0;
    rc = coord_ingest(api->store, &in, &pid, &err);
    if (rc) {
        envelope_free(&env);
        if (rc == -EINVAL)
            http_resp_msg(w, 400, "%s", err.msg);
        else
            api_store_error(w, rc, &err);
        return;
    }
    if (env.flamegraph_html && !env.continuous) {
        char hs[128], fname[256], ts[32];
        safe_component(host, hs, sizeof(hs));
        tu_format(env.start_time, ts, sizeof(ts));
        for (char *p = ts; *p; p++)
            if (*p == ':')
                *p = '-';
        snprintf(fname, sizeof(fname), "%s_%s_%s_adhoc_flamegraph.html", ts, uid, hs);
        struct ingest_adhoc ad = {.service = clean,
                                  .hostname = host,
                                  .filename = fname,
                                  .start_time = env.start_time,
                                  .end_time = env.end_time,
                                  .html = env.flamegraph_html,
                                  .html_len = env.flamegraph_html_len,
                                  .profile_id = pid};
        struct gp_err aerr = {0};
        if (coord_ingest_adhoc(api->store, &ad, NULL, &aerr) != 0)
            gp_warn("upload %s: ad hoc flame graph not stored: %s", uid, aerr.msg);
    }
    if (env.htmlblob)
        store_perfspect_report(api, clean, host, env.end_time, uid, &env);
    gp_debug("upload %s: service %s host %s profile %lld (%zu stacks, %llu samples)", uid, clean,
             host, (long long)pid, env.stack_lines, (unsigned long long)env.samples);
    int64_t gpid = env.gpid > 0 ? env.gpid : pid;
    atomic_fetch_add_explicit(&api->counters.profiles, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&api->counters.profile_wire, r->wire_len, memory_order_relaxed);
    atomic_fetch_add_explicit(&api->counters.profile_bytes, r->body_len, memory_order_relaxed);
    atomic_fetch_add_explicit(&api->counters.samples, env.samples, memory_order_relaxed);
    envelope_free(&env);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "message", json_object_new_string("ok"));
    json_object_object_add(o, "gpid", json_object_new_int64(gpid));
    http_resp_json(w, 200, o);
}

void api_heartbeat(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct gp_err err = {0};
    int64_t now = coord_now();
    json_object *body = api_json_body(r, w);
    if (!body)
        return;
    json_object *sv;
    const char *svc = json_object_is_type(body, json_type_object) &&
                                      json_object_object_get_ex(body, "service_name", &sv) &&
                                      json_object_is_type(sv, json_type_string)
                              ? json_object_get_string(sv)
                              : NULL;
    if (auth_check_agent(api->auth, r, svc, NULL, 0, now, &err) != 0) {
        json_object_put(body);
        http_resp_msg(w, err.code == -EACCES ? 401 : 500, "%s", err.msg);
        return;
    }
    char *text = NULL;
    size_t len = 0;
    int status = 500;
    int rc = cj_heartbeat(api->plane, body, now, &text, &len, &status, &err);
    json_object_put(body);
    if (rc) {
        api_store_error(w, rc, &err);
        return;
    }
    if (status >= 200 && status < 300)
        atomic_fetch_add_explicit(&api->counters.heartbeats, 1, memory_order_relaxed);
    http_resp_raw(w, status, "application/json", text, len);
}

void api_command_completion(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct gp_err err = {0};
    int64_t now = coord_now();
    char token_svc[256] = ""; /* the service the token belongs to: only its commands */
    if (auth_check_agent(api->auth, r, NULL, token_svc, sizeof(token_svc), now, &err) != 0) {
        http_resp_msg(w, err.code == -EACCES ? 401 : 500, "%s", err.msg);
        return;
    }
    json_object *body = api_json_body(r, w);
    if (!body)
        return;
    json_object *resp = NULL;
    int status = 500;
    int rc = cj_completion(api->plane, body, api->auth->enabled ? token_svc : NULL, now, &resp,
                           &status, &err);
    json_object_put(body);
    if (rc) {
        api_store_error(w, rc, &err);
        return;
    }
    if (status >= 200 && status < 300)
        atomic_fetch_add_explicit(&api->counters.completions, 1, memory_order_relaxed);
    http_resp_json(w, status, resp);
}
