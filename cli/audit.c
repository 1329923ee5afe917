/* audit.c — `gprofctl audit`: the coordinator's audit log (GET /api/audit, admin) as a table or
 * JSON: who did what from where, on which services and hosts, and with what result. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/httpjson.h"
#include "cli/endpoints.h"
#include "cli/gprofctl.h"
#include "common/curl.h"
#include "common/strbuf.h"

static const char audit_help[] =
        "NAME\n"
        "    gprofctl audit - the coordinator's audit log (admins only)\n"
        "\n"
        "SYNOPSIS\n"
        "    gprofctl audit [--since DURATION|TIME] [--limit N] [--json] [--coordinator URL]\n"
        "                   [--token T]\n"
        "\n"
        "DESCRIPTION\n"
        "    Lists, newest first, every control and admin action (profiling started or stopped,\n"
        "    settings, sign-ins, user and token changes) and every refused attempt: when, who,\n"
        "    from which address, what, on which services and hosts, the result and why.\n"
        "\n"
        "OPTIONS\n"
        "    --since D            only entries of the last D (30m, 12h, 7d) or since an ISO 8601\n"
        "                         time (default: all)\n"
        "    --limit N            at most N entries (1..1000, default 100)\n"
        "    --json               the coordinator's answer as JSON\n"
        "    --coordinator URL    the coordinator (or GPROF_COORDINATOR)\n"
        "    --token T            an admin's user token or the ui_token (or GPROF_UI_TOKEN)\n";

enum { A_COORD = 3000, A_TOKEN, A_SINCE, A_LIMIT, A_JSON };

static const struct option aopts[] = {
        {"coordinator", required_argument, NULL, A_COORD},
        {"token", required_argument, NULL, A_TOKEN},
        {"since", required_argument, NULL, A_SINCE},
        {"limit", required_argument, NULL, A_LIMIT},
        {"json", no_argument, NULL, A_JSON},
        {"help", no_argument, NULL, 'h'},
        {0},
};

/* "30m" / "12h" / "7d" / "90s" -> seconds; -1 when not a duration. */
static long duration_s(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v > 0) || v > 3650 * 86400.0)
        return -1;
    long mul = !strcmp(end, "s")   ? 1
               : !strcmp(end, "m") ? 60
               : !strcmp(end, "h") ? 3600
               : !strcmp(end, "d") ? 86400
                                   : -1;
    return mul < 0 ? -1 : (long)(v * (double)mul);
}

static const char *member(json_object *o, const char *k)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null))
        return "";
    return json_object_get_string(v);
}

static void esc(struct strbuf *sb, const char *s)
{
    char *e = gp_curl.easy_escape(NULL, s, 0);
    sb_puts(sb, e ? e : "");
    gp_curl.free(e);
}

int cmd_audit(int argc, char **argv)
{
    const char *coord = NULL, *token = NULL, *since = NULL, *limit = NULL;
    int json = 0, o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", aopts, NULL)) != -1) {
        switch (o) {
        case A_COORD:
            coord = optarg;
            break;
        case A_TOKEN:
            token = optarg;
            break;
        case A_SINCE:
            since = optarg;
            break;
        case A_LIMIT:
            limit = optarg;
            break;
        case A_JSON:
            json = 1;
            break;
        case 'h':
            fputs(audit_help, stdout);
            return 0;
        default:
            fprintf(stderr, "usage: see `gprofctl audit --help`\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gprofctl audit: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    char cbuf[1024];
    coord = gpctl_coordinator(coord, cbuf, sizeof(cbuf));
    if (!coord) {
        fprintf(stderr, "gprofctl audit: no coordinator: pass --coordinator URL or set "
                        "GPROF_COORDINATOR\n");
        return 2;
    }
    token = gpctl_token(token);
    struct strbuf url = STRBUF_INIT;
    sb_printf(&url, "%s/api/audit?limit=%s", coord, limit ? "" : "100");
    if (limit)
        esc(&url, limit);
    if (since) {
        long d = duration_s(since);
        if (d > 0)
            sb_printf(&url, "&since=%lld", (long long)time(NULL) - d);
        else {
            sb_puts(&url, "&since=");
            esc(&url, since);
        }
    }
    struct gp_err err = {0};
    long status = 0;
    json_object *r = NULL;
    int rc = gp_http_json("GET", sb_str(&url), token, NULL, 30, GP_HTTP_FLEET_REPLY_MAX, &status,
                          &r, &err);
    sb_free(&url);
    if (rc) {
        fprintf(stderr,
                "gprofctl audit: cannot reach the coordinator: %s; check --coordinator or "
                "GPROF_COORDINATOR\n",
                err.msg);
        return 1;
    }
    if (status != 200 || !r || !json_object_is_type(r, json_type_array)) {
        const char *m = r ? member(r, "message") : "";
        fprintf(stderr, "gprofctl audit: the coordinator answered HTTP %ld: %s%s\n", status,
                *m ? m : "no message",
                status == 401 || status == 403
                        ? " (the audit log needs an admin: pass --token or set GPROF_UI_TOKEN)"
                        : "");
        json_object_put(r);
        return 1;
    }
    if (json) {
        printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
        json_object_put(r);
        return 0;
    }
    size_t n = json_object_array_length(r);
    printf("%-20s %-16s %-15s %-34s %-24s %-7s %s\n", "TIME", "WHO", "ADDRESS", "ACTION", "TARGET",
           "RESULT", "DETAIL");
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(r, i);
        const char *t = member(e, "target");
        printf("%-20s %-16s %-15s %-34s %-24s %-7s %s\n", member(e, "time"), member(e, "who"),
               member(e, "address"), member(e, "action"), *t ? t : "-", member(e, "result"),
               member(e, "detail"));
    }
    if (!n)
        printf("(no entries)\n");
    json_object_put(r);
    return 0;
}
