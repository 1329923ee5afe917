/* uploader.c — the gProfiler upload protocol over libcurl. */
#include "agent/uploader.h"
#include "common/curl.h"
#include "common/curl_tls.h"
#include "agent/header.h"
#include "common/gzip.h"
#include "common/strbuf.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static size_t collect(char *ptr, size_t size, size_t n, void *ctx)
{
    struct strbuf *sb = ctx;
    if (sb->len + size * n > 64 * 1024) /* replies are small; cap what we keep */
        return size * n;
    sb_append(sb, ptr, size * n);
    return size * n;
}

static json_object *num_or_null(double v)
{
    return v < 0 ? NULL : json_object_new_double(v);
}

static int build_body(const struct gp_upload_target *t, const struct gp_upload *u, const char *gpid,
                      struct strbuf *gz, struct gp_err *err)
{
    char start[32], end[32], spawn[32];
    gp_format_utc(u->start, start, sizeof(start));
    gp_format_utc(u->end, end, sizeof(end));
    gp_format_utc(u->spawn, spawn, sizeof(spawn));
    json_object *o = json_object_new_object();
    if (!o)
        return gp_err_set(err, -ENOMEM, "out of memory");
    json_object_object_add(o, "start_time", json_object_new_string(start));
    json_object_object_add(o, "end_time", json_object_new_string(end));
    json_object_object_add(o, "hostname", json_object_new_string(t->hostname));
    json_object_object_add(o, "profile",
                           json_object_new_string_len(u->profile, (int)u->profile_len));
    json_object_object_add(o, "cpu_avg", num_or_null(u->cpu_avg));
    json_object_object_add(o, "mem_avg", num_or_null(u->mem_avg));
    json_object_object_add(o, "spawn_time", json_object_new_string(spawn));
    json_object_object_add(o, "gpid", json_object_new_string(gpid ? gpid : ""));
    size_t len;
    const char *js = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    int rc = js ? gp_gzip_compress(js, len, 6, gz, err) : gp_err_set(err, -ENOMEM, "out of memory");
    json_object_put(o);
    return rc;
}

int gp_upload_profile(const struct gp_upload_target *t, const struct gp_upload *u, char *gpid,
                      size_t gpid_len, struct gp_err *err)
{
    struct strbuf body = STRBUF_INIT, reply = STRBUF_INIT, url = STRBUF_INIT, hdr = STRBUF_INIT;
    struct curl_slist *headers = NULL;
    CURL *c = NULL;
    int rc = build_body(t, u, gpid, &body, err);
    if (rc)
        goto out;
    c = gp_curl_handle();
    if (!c) {
        rc = gp_err_set(err, -ENOMEM, "cannot initialise libcurl");
        goto out;
    }
    char stamp[32];
    gp_format_utc(u->end, stamp, sizeof(stamp));
    char *esvc = gp_curl.easy_escape(c, t->service, 0),
         *ehost = gp_curl.easy_escape(c, t->hostname, 0);
    sb_printf(&url, "%s/api/v2/profiles?service=%s&hostname=%s&timestamp=%s&version=%s",
              t->base_url, esvc ? esvc : "", ehost ? ehost : "", stamp, GPROF_VERSION);
    gp_curl.free(esvc);
    gp_curl.free(ehost);
    const char *fixed[] = {"Content-Encoding: gzip", "Content-Type: application/json", "Expect:"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        headers = gp_curl.slist_append(headers, fixed[i]);
    sb_printf(&hdr, "GPROFILER-SERVICE-NAME: %s", t->service);
    headers = gp_curl.slist_append(headers, sb_str(&hdr));
    if (t->token) {
        sb_reset(&hdr);
        sb_printf(&hdr, "GPROFILER-API-KEY: %s", t->token);
        headers = gp_curl.slist_append(headers, sb_str(&hdr));
    }
    if (u->upload_id) {
        sb_reset(&hdr);
        sb_printf(&hdr, "X-Gprof-Upload-Id: %s", u->upload_id);
        headers = gp_curl.slist_append(headers, sb_str(&hdr));
    }
    if (!headers || url.oom || hdr.oom) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    gp_curl.easy_setopt(c, CURLOPT_URL, sb_str(&url));
    gp_curl.easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    gp_curl.easy_setopt(c, CURLOPT_POSTFIELDS, body.buf);
    gp_curl.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
    gp_curl.easy_setopt(c, CURLOPT_TIMEOUT, t->timeout_s > 0 ? t->timeout_s : 120L);
    gp_curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    gp_curl.easy_setopt(c, CURLOPT_WRITEDATA, &reply);
    CURLcode cc = gp_curl.easy_perform(c);
    if (cc != CURLE_OK) {
        char why[512];
        gp_curl_describe(cc, why, sizeof(why));
        rc = gp_err_set(err, -EAGAIN, "uploading to %s failed: %s", t->base_url, why);
        goto out;
    }
    long status = 0;
    gp_curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    json_object *j = json_tokener_parse(sb_str(&reply));
    json_object *msg = j ? json_object_object_get(j, "message") : NULL;
    if (status != 200) {
        int retry = status >= 500 || status == 429 || status == 408;
        rc = gp_err_set(err, retry ? -EAGAIN : -EPROTO, "coordinator answered %ld: %s", status,
                        msg ? json_object_get_string(msg) : sb_str(&reply));
    } else {
        json_object *g = j ? json_object_object_get(j, "gpid") : NULL;
        if (g && gpid && gpid_len)
            snprintf(gpid, gpid_len, "%s", json_object_get_string(g));
    }
    json_object_put(j);
out:
    gp_curl.slist_free_all(headers);
    if (c)
        gp_curl.easy_cleanup(c);
    sb_free(&body);
    sb_free(&reply);
    sb_free(&url);
    sb_free(&hdr);
    return rc;
}
