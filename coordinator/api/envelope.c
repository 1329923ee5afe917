/* envelope.c — gProfiler upload envelope parsing (see envelope.h). */
#include "coordinator/api/envelope.h"
#include "common/timeutil.h"
#include "common/collapsed.h"
#include "common/ident.h"
#include "common/json_member.h"
#include "common/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One tokener per HTTP thread, reset between bodies: a new one costs a zeroed 2.5 KiB parse
 * stack (64 levels) per heartbeat. The main thread (tests, tools) keeps allocating its own, so
 * nothing is left behind at exit; a thread's tokener goes with the thread. */
static pthread_key_t tok_key;
static bool tok_key_ok;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;

static pthread_t main_thread;

__attribute__((constructor)) static void note_main_thread(void)
{
    main_thread = pthread_self();
}

static void tok_destroy(void *t)
{
    json_tokener_free(t);
}

static void tok_key_init(void)
{
    tok_key_ok = pthread_key_create(&tok_key, tok_destroy) == 0;
}

/* A tokener for max_depth; *cached says whether it belongs to the thread (do not free). */
static json_tokener *tokener_get(int max_depth, bool *cached)
{
    *cached = false;
    if (max_depth != ENVELOPE_MAX_DEPTH || pthread_equal(pthread_self(), main_thread))
        return json_tokener_new_ex(max_depth);
    pthread_once(&tok_once, tok_key_init);
    if (!tok_key_ok)
        return json_tokener_new_ex(max_depth);
    json_tokener *tok = pthread_getspecific(tok_key);
    if (tok) {
        json_tokener_reset(tok);
        *cached = true;
        return tok;
    }
    tok = json_tokener_new_ex(max_depth);
    if (tok && pthread_setspecific(tok_key, tok) == 0)
        *cached = true;
    return tok;
}

json_object *json_parse_strict(const char *text, size_t len, int max_depth, struct gp_err *err)
{
    if (len > (size_t)INT32_MAX) {
        gp_err_set(err, -E2BIG, "JSON body too large");
        return NULL;
    }
    size_t i = 0;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    if (i == len) {
        gp_err_set(err, -EINVAL, "malformed JSON: body is empty");
        return NULL;
    }
    bool cached;
    json_tokener *tok = tokener_get(max_depth, &cached);
    if (!tok) {
        gp_err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (cached)
        json_tokener_reset(tok); /* drops any half-built object now */
    else
        json_tokener_free(tok);
    if (je == json_tokener_continue) {
        json_object_put(o);
        gp_err_set(err, -EINVAL, "malformed JSON: unexpected end of input at offset %zu", len);
        return NULL;
    }
    if (!o || je != json_tokener_success) {
        json_object_put(o);
        gp_err_set(err, -EINVAL, "malformed JSON at offset %zu: %s", end,
                   json_tokener_error_desc(je));
        return NULL;
    }
    for (size_t k = end; k < len; k++)
        if (!isspace((unsigned char)text[k])) {
            json_object_put(o);
            gp_err_set(err, -EINVAL,
                       "malformed JSON: unexpected data after the value at offset %zu", k);
            return NULL;
        }
    return o;
}

static bool is_secret_key(const char *k)
{
    if (strcasestr(k, "token") || strcasestr(k, "password") || strcasestr(k, "secret"))
        return true;
    return strcasecmp(k, "key") == 0 || strcasecmp(k, "api_key") == 0 ||
           strcasecmp(k, "apikey") == 0;
}

size_t envelope_scrub_secrets(json_object *o)
{
    size_t n = 0;
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++)
            n += envelope_scrub_secrets(json_object_array_get_idx(o, i));
        return n;
    }
    if (!json_object_is_type(o, json_type_object))
        return 0;
again:;
    json_object_object_foreach(o, k, v)
    {
        if (is_secret_key(k)) {
            json_object_object_del(o, k);
            n++;
            goto again; /* iteration is invalid after a delete */
        }
        (void)v;
    }
    json_object_object_foreach(o, k2, v2)
    {
        (void)k2;
        n += envelope_scrub_secrets(v2);
    }
    return n;
}

void envelope_free(struct upload_envelope *e)
{
    if (!e)
        return;
    free(e->text);
    free(e->flamegraph_html);
    free(e->htmlblob);
    e->text = e->flamegraph_html = e->htmlblob = NULL;
}

static int get_time(json_object *body, const char *key, bool required, int64_t *out,
                    struct gp_err *err)
{
    json_object *v;
    *out = 0;
    if (!json_object_object_get_ex(body, key, &v) || json_object_is_type(v, json_type_null)) {
        if (required)
            return gp_err_set(err, -EINVAL, "Missing parameter %s (an ISO 8601 time)", key);
        return 0;
    }
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (!(d >= 0 && d <= 32503680000.0)) /* negated: NaN is refused too */
            return gp_err_set(err, -EINVAL, "field '%s' is out of range", key);
        *out = (int64_t)d;
        return 0;
    }
    if (!json_object_is_type(v, json_type_string) || tu_parse(json_object_get_string(v), out))
        return gp_err_set(err, -EINVAL,
                          "field '%s' must be an ISO 8601 time like 2026-01-02T03:04:05, got %.60s",
                          key, json_object_get_string(v));
    return 0;
}

static double get_metric(json_object *body, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(body, key, &v))
        return -1;
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        return d >= 0 && d <= 1e6 ? d : -1;
    }
    return -1;
}

/* Parses the envelope with the (MiB-sized) "profile" string decoded by the fast path and
 * json-c seeing the rest with "profile": "" — json-c takes ~15 ns a byte on strings. Whenever
 * the fast path has a doubt, or json-c rejects the rest, the whole body goes to json-c, so
 * what is accepted and every error message stay those of json_parse_strict. *text is the
 * decoded profile (caller frees), or NULL when json-c parsed everything. */
static json_object *parse_body(const char *body, size_t len, char **text, size_t *tlen,
                               struct gp_err *err)
{
    size_t qs, qe;
    *text = NULL;
    if (len >= 4096 && len <= (size_t)INT32_MAX &&
        gp_json_find_string_member(body, len, "profile", &qs, &qe)) {
        size_t vlen = qe - qs - 1, slen = len - vlen;
        char *small = malloc(slen + 1), *t = malloc(vlen + 1);
        json_object *root = NULL;
        if (small && t && gp_json_unescape_simple(body + qs + 1, vlen, t, tlen)) {
            memcpy(small, body, qs + 1);
            memcpy(small + qs + 1, body + qe, len - qe);
            small[slen] = '\0';
            root = json_parse_strict(small, slen, ENVELOPE_MAX_DEPTH, NULL);
        }
        free(small);
        if (root) {
            *text = t;
            return root;
        }
        free(t);
    }
    return json_parse_strict(body, len, ENVELOPE_MAX_DEPTH, err);
}

int envelope_parse(const char *body, size_t len, struct upload_envelope *e, struct gp_err *err)
{
    return envelope_parse_ex(body, len, 0, e, err);
}

int envelope_parse_ex(const char *body, size_t len, unsigned flags, struct upload_envelope *e,
                      struct gp_err *err)
{
    memset(e, 0, sizeof(*e));
    e->cpu_avg = e->mem_avg = -1;
    int rc = 0;
    char *ptext = NULL;
    size_t ptlen = 0;
    json_object *root = parse_body(body, len, &ptext, &ptlen, err), *v;
    json_object *hdr = NULL;
    if (!root)
        return err ? err->code : -EINVAL;
    if (!json_object_is_type(root, json_type_object)) {
        rc = gp_err_set(err, -EINVAL, "malformed upload: body must be a JSON object, got %s",
                        json_type_to_name(json_object_get_type(root)));
        goto out;
    }
    if ((rc = get_time(root, "start_time", true, &e->start_time, err)) ||
        (rc = get_time(root, "end_time", false, &e->end_time, err)) ||
        (rc = get_time(root, "spawn_time", false, &e->spawn_time, err)))
        goto out;
    if (!e->end_time)
        e->end_time = e->start_time;
    if (e->end_time < e->start_time) {
        rc = gp_err_set(err, -EINVAL, "end_time is before start_time");
        goto out;
    }
    e->cpu_avg = get_metric(root, "cpu_avg");
    e->mem_avg = get_metric(root, "mem_avg");
    if (!json_object_object_get_ex(root, "gpid", &v)) {
        rc = gp_err_set(err, -EINVAL, "gpid must be a part of a json body");
        goto out;
    }
    /* json-c and strtoll clamp what does not fit an int64: refuse it instead */
    const char *g =
            json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_string)
                    ? json_object_get_string(v)
                    : NULL;
    if (g && *g) {
        char *end;
        errno = 0;
        long long x = strtoll(g, &end, 10);
        if (*end || errno == ERANGE || x < 0) {
            rc = gp_err_set(err, -EINVAL,
                            "gpid must be an integer from 0 to 9223372036854775807 or \"\", got "
                            "%.40s",
                            g);
            goto out;
        }
        e->gpid = x;
    } else if (!g && !json_object_is_type(v, json_type_null)) {
        rc = gp_err_set(err, -EINVAL, "gpid must be an integer or \"\"");
        goto out;
    }
    if (!json_object_object_get_ex(root, "profile", &v) ||
        !json_object_is_type(v, json_type_string)) {
        rc = gp_err_set(err, -EINVAL, "Missing parameter profile (the collapsed text)");
        goto out;
    }
    const char *text = ptext ? ptext : json_object_get_string(v);
    size_t tlen = ptext ? ptlen : (size_t)json_object_get_string_len(v);
    if (tlen < 2 || text[0] != '#') {
        rc = gp_err_set(err, -EINVAL,
                        "Agent metadata is missing, probably you are using an old agent: the "
                        "profile must start with a \"# {json}\" header line");
        goto out;
    }
    const char *nl = memchr(text, '\n', tlen);
    size_t hlen = nl ? (size_t)(nl - text) : tlen;
    const char *hjson = text + 1;
    size_t hjlen = hlen - 1;
    while (hjlen && (*hjson == ' ' || *hjson == '\t')) {
        hjson++;
        hjlen--;
    }
    if (hjlen && hjson[hjlen - 1] == '\r')
        hjlen--;
    struct gp_err herr = {0};
    hdr = json_parse_strict(hjson, hjlen, ENVELOPE_MAX_DEPTH, &herr);
    if (!hdr) {
        rc = gp_err_set(err, -EINVAL, "Failed to parse v2 metadata: header line: %s", herr.msg);
        goto out;
    }
    if (!json_object_is_type(hdr, json_type_object)) {
        rc = gp_err_set(err, -EINVAL, "Failed to parse v2 metadata: header must be a JSON object");
        goto out;
    }
    json_object *md = NULL, *ra = NULL;
    if (!json_object_object_get_ex(hdr, "metadata", &md) ||
        !json_object_is_type(md, json_type_object)) {
        rc = gp_err_set(err, -EINVAL,
                        "Agent metadata is missing, probably you are using an old agent: header "
                        "has no \"metadata\" object");
        goto out;
    }
    if (json_object_object_get_ex(md, "run_arguments", &ra) &&
        json_object_is_type(ra, json_type_object)) {
        if (json_object_object_get_ex(ra, "continuous", &v))
            e->continuous = json_object_get_boolean(v);
        if (json_object_object_get_ex(ra, "service_name", &v) &&
            json_object_is_type(v, json_type_string))
            snprintf(e->service_hint, sizeof(e->service_hint), "%s", json_object_get_string(v));
    }
    if (json_object_object_get_ex(md, "continuous", &v))
        e->continuous = json_object_get_boolean(v);
    const char *host = NULL;
    size_t host_len = 0; /* json-c's length: an embedded NUL must not truncate the name */
    if (json_object_object_get_ex(root, "hostname", &v) && json_object_is_type(v, json_type_string))
        host = json_object_get_string(v), host_len = (size_t)json_object_get_string_len(v);
    if (host_len == 0 && json_object_object_get_ex(md, "hostname", &v) &&
        json_object_is_type(v, json_type_string))
        host = json_object_get_string(v), host_len = (size_t)json_object_get_string_len(v);
    if (host_len) {
        char why[128];
        if (gp_ident_check(host, host_len, 255, why, sizeof(why)) != 0) {
            rc = gp_err_set(err, -EINVAL, "hostname %s", why);
            goto out;
        }
        snprintf(e->hostname, sizeof(e->hostname), "%s", host);
    }
    /* validate every stack line (line numbers count the header as line 1) */
    struct gp_collapsed_stats st = {0};
    struct gp_collapsed_parse_opts po = {.header = GP_COLLAPSED_HEADER_REQUIRED, .stats = &st};
    struct gp_err perr = {0};
    if (gp_collapsed_validate(text, tlen, &po, &perr) != 0) {
        rc = gp_err_set(err, perr.code == -E2BIG ? -E2BIG : -EINVAL, "profile: %s", perr.msg);
        goto out;
    }
    e->stack_lines = st.lines;
    e->samples = st.samples;
    /* the ad hoc HTML travels separately; secrets never get stored */
    if (json_object_object_get_ex(hdr, "flamegraph_html", &v) &&
        json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0) {
        e->flamegraph_html_len = (size_t)json_object_get_string_len(v);
        e->flamegraph_html = malloc(e->flamegraph_html_len + 1);
        if (!e->flamegraph_html) {
            rc = gp_err_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        memcpy(e->flamegraph_html, json_object_get_string(v), e->flamegraph_html_len + 1);
    }
    json_object_object_del(hdr, "flamegraph_html");
    if (json_object_object_get_ex(hdr, "htmlblob", &v) &&
        json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0) {
        e->htmlblob_len = (size_t)json_object_get_string_len(v);
        e->htmlblob = strndup(json_object_get_string(v), e->htmlblob_len);
        if (!e->htmlblob) {
            rc = gp_err_set(err, -ENOMEM, "out of memory");
            goto out;
        }
    }
    json_object_object_del(hdr, "htmlblob");
    e->scrubbed = envelope_scrub_secrets(hdr);
    if ((flags & ENVELOPE_TEXT_IF_CHANGED) && e->scrubbed == 0 && !e->flamegraph_html &&
        !e->htmlblob)
        goto out; /* the caller keeps the body as received: no re-serialised copy */
    size_t hn;
    const char *hs = json_object_to_json_string_length(
            hdr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &hn);
    struct strbuf sb = STRBUF_INIT;
    sb_puts(&sb, "# ");
    sb_append(&sb, hs, hn);
    if (nl)
        sb_append(&sb, nl, tlen - (size_t)(nl - text));
    if (sb.oom) {
        sb_free(&sb);
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    e->text = sb_detach(&sb, &e->text_len);
out:
    free(ptext);
    json_object_put(hdr);
    json_object_put(root);
    if (rc)
        envelope_free(e);
    return rc;
}
