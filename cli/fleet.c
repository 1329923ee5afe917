/* fleet.c — gprofctl's fleet verbs through a coordinator: `start`/`stop` aimed at hosts or a
 * service, `hosts`, `requests` and `flamegraph`. Over 800 lines in one file because the verbs
 * share the target selection (hosts or a service) and the request polling, which split per verb
 * would be exported only to each other. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/httpjson.h"
#include "common/curl.h"
#include "common/fsutil.h"
#include "cli/endpoints.h"
#include "cli/fleet.h"
#include "cli/gprofctl.h"
#include "cli/outfmt.h"
#include "common/strbuf.h"
#include "common/timeutil.h"

/* A string member, or NULL when absent or null. */
static const char *has(json_object *o, const char *k)
{
    json_object *v = o ? json_object_object_get(o, k) : NULL;
    return v ? json_object_get_string(v) : NULL;
}

/* A string member for printing: "-" when absent. */
static const char *str(json_object *o, const char *k)
{
    const char *s = has(o, k);
    return s ? s : "-";
}

static void esc(struct strbuf *sb, const char *s)
{
    char *e = gp_curl.easy_escape(NULL, s, 0);
    sb_puts(sb, e ? e : "");
    gp_curl.free(e);
}

/* Calls the coordinator; prints a useful message and returns -1 on any failure. */
static int api(const char *verb, const char *method, const char *url, const char *token,
               const char *body, json_object **reply)
{
    struct gp_err err = {0};
    long status = 0;
    int rc = gp_http_json(method, url, token, body, 30, GP_HTTP_FLEET_REPLY_MAX, &status, reply,
                          &err);
    if (rc) {
        fprintf(stderr,
                "gprofctl %s: cannot reach the coordinator: %s; check --coordinator or "
                "GPROF_COORDINATOR\n",
                verb, err.msg);
        return -1;
    }
    if (status == 401 || status == 403) {
        fprintf(stderr,
                "gprofctl %s: the coordinator refused the credentials (HTTP %ld); pass --token "
                "or set GPROF_UI_TOKEN\n",
                verb, status);
        json_object_put(*reply);
        return -1;
    }
    if (status == 204) {
        json_object_put(*reply);
        *reply = NULL;
        return 0;
    }
    if (status != 200) {
        const char *m = has(*reply, "message");
        if (!m)
            m = has(*reply, "detail");
        fprintf(stderr, "gprofctl %s: the coordinator answered HTTP %ld: %s\n", verb, status,
                m ? m : "no message");
        json_object_put(*reply);
        return -1;
    }
    return 0;
}

/* The host array of a host_status answer (an array, or {"hosts": [...]}). */
static json_object *rows_of(json_object *r)
{
    return r && json_object_is_type(r, json_type_object) ? json_object_object_get(r, "hosts") : r;
}

/* host_status rows with exactly these host names (and this service when not NULL). */
static int host_rows(const char *verb, const struct gpctl_fleet_req *r, const char *service,
                     const char *const *hosts, size_t nh, json_object **out)
{
    struct strbuf url = STRBUF_INIT;
    sb_printf(&url, "%s/api/metrics/profiling/host_status?exact_match=true", r->coordinator);
    if (service) {
        sb_puts(&url, "&service_name=");
        esc(&url, service);
    }
    for (size_t i = 0; i < nh; i++) {
        sb_puts(&url, "&hostname=");
        esc(&url, hosts[i]);
    }
    int rc = api(verb, "GET", sb_str(&url), r->token, NULL, out);
    sb_free(&url);
    return rc;
}

/* --host without --service: the one service every named host reports under, into svc.
 * Returns 0, or the exit status after a message. */
static int resolve_service(const char *verb, const struct gpctl_fleet_req *r, char *svc, size_t len)
{
    json_object *all = NULL;
    if (host_rows(verb, r, NULL, r->hosts, r->nhosts, &all))
        return 1;
    json_object *arr = rows_of(all);
    size_t n = arr ? json_object_array_length(arr) : 0;
    int rc = 0;
    svc[0] = '\0';
    const char *first_host = NULL;
    for (size_t i = 0; i < r->nhosts && !rc; i++) {
        const char *found = NULL;
        for (size_t k = 0; k < n && !rc; k++) {
            json_object *h = json_object_array_get_idx(arr, k);
            const char *hn = has(h, "hostname"), *sn = has(h, "service_name");
            if (!hn || !sn || strcmp(hn, r->hosts[i]))
                continue;
            if (found && strcmp(found, sn)) {
                fprintf(stderr,
                        "gprofctl %s: host %s reports under services %s and %s; name one with "
                        "--service S\n",
                        verb, r->hosts[i], found, sn);
                rc = 2;
            }
            found = sn;
        }
        if (rc)
            break;
        if (!found) {
            fprintf(stderr,
                    "gprofctl %s: no host named %s has sent a heartbeat to %s; `gprofctl hosts` "
                    "lists the hosts it knows\n",
                    verb, r->hosts[i], r->coordinator);
            rc = 1;
        } else if (!svc[0]) {
            snprintf(svc, len, "%s", found);
            first_host = r->hosts[i];
        } else if (strcmp(svc, found)) {
            fprintf(stderr,
                    "gprofctl %s: host %s is in service %s and host %s in service %s; send one "
                    "request per service (--service S)\n",
                    verb, first_host, svc, r->hosts[i], found);
            rc = 2;
        }
    }
    json_object_put(all);
    return rc;
}

/* Active hosts of a service, for a stop without --host. */
static int service_hosts(const struct gpctl_fleet_req *r, const char *service, const char **hosts,
                         size_t *n, json_object **keep)
{
    struct strbuf url = STRBUF_INIT;
    sb_printf(&url, "%s/api/metrics/profiling/host_status?exact_match=true&service_name=",
              r->coordinator);
    esc(&url, service);
    int rc = api("stop", "GET", sb_str(&url), r->token, NULL, keep);
    sb_free(&url);
    if (rc)
        return -1;
    *n = 0;
    json_object *arr = rows_of(*keep);
    for (size_t i = 0; arr && i < json_object_array_length(arr) && *n < 64; i++) {
        json_object *h = json_object_array_get_idx(arr, i);
        const char *st = has(h, "status");
        if (!st || !strcmp(st, "active"))
            hosts[(*n)++] = str(h, "hostname");
    }
    return 0;
}

/* A host_status timestamp (UTC, "YYYY-MM-DDTHH:MM:SS") as seconds, or 0. */
static time_t utc_time(const char *s)
{
    int64_t t;
    return tu_parse(s, &t) < 0 ? 0 : (time_t)t;
}

/* One line about what an execution waits for: the host's next heartbeat (when it is due), or
 * the profiling session and its upload. */
static void say_waiting(const struct gpctl_fleet_req *r, const char *service, const char *host,
                        const char *status)
{
    if (!strcmp(status, "pending")) {
        json_object *hr = NULL, *h = NULL;
        const char *one[] = {host};
        if (!host_rows("start", r, service, one, 1, &hr)) {
            json_object *arr = rows_of(hr);
            h = arr && json_object_array_length(arr) ? json_object_array_get_idx(arr, 0) : NULL;
        }
        time_t last = utc_time(has(h, "heartbeat_timestamp")), now = time(NULL);
        json_object *iv = h ? json_object_object_get(h, "heartbeat_interval_s") : NULL;
        long interval = iv ? (long)json_object_get_int64(iv) : 0;
        if (last && interval > 0) {
            time_t due = last + interval;
            char at[16];
            struct tm tm;
            gmtime_r(&due, &tm);
            strftime(at, sizeof(at), "%H:%M:%S", &tm);
            if (due >= now)
                fprintf(stderr,
                        "%s: waiting for its next heartbeat, due in about %ld s (%s UTC; it "
                        "heartbeats every ~%ld s and takes the command then)\n",
                        host, (long)(due - now), at, interval);
            else
                fprintf(stderr,
                        "%s: waiting for its next heartbeat, due at %s UTC (%ld s ago; it "
                        "heartbeats every ~%ld s); is its agent running?\n",
                        host, at, (long)(now - due), interval);
        } else {
            fprintf(stderr,
                    "%s: waiting for its next heartbeat (the agent takes the command then)\n",
                    host);
        }
        json_object_put(hr);
    } else if (!strcmp(status, "assigned") || !strcmp(status, "sent")) {
        if (r->stop)
            fprintf(stderr, "%s: the agent has the stop\n", host);
        else
            fprintf(stderr,
                    "%s: the agent took the command; profiling for %ld s, then it uploads the "
                    "result and reports\n",
                    host, r->duration);
    } else {
        fprintf(stderr, "%s: %s\n", host, status);
    }
}

static int wait_request(const struct gpctl_fleet_req *r, const char *service, const char *rid)
{
    struct strbuf url = STRBUF_INIT;
    sb_printf(&url, "%s/api/metrics/profile_request?request_id=", r->coordinator);
    esc(&url, rid);
    time_t deadline = time(NULL) + r->duration + 600;
    int status = 1;
    struct strbuf last = STRBUF_INIT; /* host=status of every execution at the last message */
    for (;;) {
        json_object *st = NULL;
        if (api("start", "GET", sb_str(&url), r->token, NULL, &st)) {
            sb_free(&url);
            sb_free(&last);
            return 1;
        }
        json_object *ex = json_object_object_get(st, "executions");
        size_t n = ex ? json_object_array_length(ex) : 0, done = 0, failed = 0;
        struct strbuf now = STRBUF_INIT;
        for (size_t i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(ex, i);
            const char *s = has(e, "status");
            done += s &&
                    (!strcmp(s, "completed") || !strcmp(s, "failed") || !strcmp(s, "cancelled"));
            failed += s && strcmp(s, "completed") &&
                      (!strcmp(s, "failed") || !strcmp(s, "cancelled"));
            sb_printf(&now, "%s=%s;", str(e, "hostname"), s ? s : "-");
        }
        const char *rs = has(st, "status");
        int finished =
                (n && done == n) || (rs && (!strcmp(rs, "completed") || !strcmp(rs, "failed") ||
                                            !strcmp(rs, "cancelled")));
        if (finished || time(NULL) > deadline) {
            sb_free(&now);
            if (r->json) {
                printf("%s\n", json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN));
            } else {
                for (size_t i = 0; i < n; i++) {
                    json_object *e = json_object_array_get_idx(ex, i);
                    const char *p = has(e, "results_path"), *em = has(e, "error_message");
                    printf("%-24s %-10s %s\n", str(e, "hostname"), str(e, "status"),
                           p    ? p
                           : em ? em
                                : "");
                }
                if (!finished)
                    fprintf(stderr,
                            "gprofctl start: gave up waiting; follow it with `gprofctl "
                            "requests %s`\n",
                            rid);
            }
            status = finished && !failed ? 0 : 1;
            json_object_put(st);
            break;
        }
        /* only what changed: one line per host whose execution moved on */
        if (strcmp(sb_str(&now), sb_str(&last))) {
            for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(ex, i);
                struct strbuf key = STRBUF_INIT;
                sb_printf(&key, "%s=%s;", str(e, "hostname"), str(e, "status"));
                const char *prev = strstr(sb_str(&last), sb_str(&key));
                int same = prev && (prev == sb_str(&last) || prev[-1] == ';');
                sb_free(&key);
                if (!same && has(e, "status"))
                    say_waiting(r, service, str(e, "hostname"), str(e, "status"));
            }
            sb_reset(&last);
            sb_puts(&last, sb_str(&now));
            fflush(stderr);
        }
        sb_free(&now);
        json_object_put(st);
        sleep(1);
    }
    sb_free(&url);
    sb_free(&last);
    return status;
}

int gpctl_fleet_start_stop(const struct gpctl_fleet_req *r)
{
    const char *verb = r->stop ? "stop" : "start";
    char svc[256];
    const char *service = r->service;
    if (!service) { /* --host alone: the hosts' one service */
        int rc = resolve_service(verb, r, svc, sizeof(svc));
        if (rc)
            return rc;
        service = svc;
    }
    const char *hosts[64];
    size_t nh = r->nhosts;
    memcpy(hosts, r->hosts, nh * sizeof(*hosts));
    json_object *keep = NULL;
    if (r->stop && !nh) {
        if (service_hosts(r, service, hosts, &nh, &keep))
            return 1;
        if (!nh) {
            fprintf(stderr, "gprofctl stop: service %s has no active host\n", service);
            json_object_put(keep);
            return 1;
        }
    }
    json_object *b = json_object_new_object();
    json_object_object_add(b, "service_name", json_object_new_string(service));
    json_object_object_add(b, "request_type", json_object_new_string(verb));
    if (!r->stop) {
        json_object_object_add(b, "continuous", json_object_new_boolean(0));
        json_object_object_add(b, "duration", json_object_new_int64(r->duration));
        json_object_object_add(b, "frequency", json_object_new_int64(r->frequency));
        json_object_object_add(b, "profiling_mode", json_object_new_string("cpu"));
        json_object *aa = json_object_new_object();
        json_object_object_add(aa, "enable_perfspect", json_object_new_boolean(r->perfspect));
        json_object_object_add(b, "additional_args", aa);
    } else {
        json_object_object_add(b, "stop_level",
                               json_object_new_string(r->npids ? "process" : "host"));
    }
    if (nh) {
        json_object *th = json_object_new_object();
        for (size_t i = 0; i < nh; i++) {
            json_object *p = NULL;
            if (r->npids) {
                p = json_object_new_array();
                for (size_t k = 0; k < r->npids; k++)
                    json_object_array_add(p, json_object_new_int(r->pids[k]));
            }
            json_object_object_add(th, hosts[i], p);
        }
        json_object_object_add(b, "target_hosts", th);
    } else if (r->npids) {
        fprintf(stderr, "gprofctl %s: --pid needs --host (pids are per host)\n", verb);
        json_object_put(b);
        return 2;
    }
    struct strbuf url = STRBUF_INIT;
    sb_printf(&url, "%s/api/metrics/profile_request", r->coordinator);
    json_object *resp = NULL;
    int rc = api(verb, "POST", sb_str(&url), r->token,
                 json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN), &resp);
    sb_free(&url);
    json_object_put(b);
    json_object_put(keep);
    if (rc)
        return 1;
    const char *rid = has(resp, "request_id");
    if (!rid) {
        fprintf(stderr, "gprofctl %s: the coordinator answered without a request id: %s\n", verb,
                has(resp, "message") ? str(resp, "message") : "");
        json_object_put(resp);
        return 1;
    }
    char id[128];
    snprintf(id, sizeof(id), "%s", rid);
    if (r->stop || r->no_wait) {
        if (r->json)
            printf("%s\n", json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN));
        else
            printf("%s\n%s\n", has(resp, "message") ? str(resp, "message") : "", id);
        json_object_put(resp);
        return 0;
    }
    fprintf(stderr, "%s\n", has(resp, "message") ? str(resp, "message") : id);
    json_object_put(resp);
    return wait_request(r, service, id);
}

/* ---- hosts, requests, flamegraph ---- */

enum { F_COORD = 2000, F_TOKEN, F_SERVICE, F_JSON, F_SINCE, F_HOST, F_FORMAT };

static const struct option fopts[] = {
        {"coordinator", required_argument, NULL, F_COORD},
        {"token", required_argument, NULL, F_TOKEN},
        {"service", required_argument, NULL, F_SERVICE},
        {"host", required_argument, NULL, F_HOST},
        {"json", no_argument, NULL, F_JSON},
        {"since", required_argument, NULL, F_SINCE},
        {"format", required_argument, NULL, F_FORMAT},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {0},
};

struct fargs {
    const char *coord, *token, *service, *host, *since, *output, *format;
    int json;
    char cbuf[1024];
};

static int fparse(const char *verb, const char *help, int argc, char **argv, struct fargs *a,
                  int *rest)
{
    memset(a, 0, sizeof(*a));
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "o:h", fopts, NULL)) != -1) {
        switch (o) {
        case F_COORD:
            a->coord = optarg;
            break;
        case F_TOKEN:
            a->token = optarg;
            break;
        case F_SERVICE:
            a->service = optarg;
            break;
        case F_HOST:
            a->host = optarg;
            break;
        case F_JSON:
            a->json = 1;
            break;
        case F_SINCE:
            a->since = optarg;
            break;
        case F_FORMAT:
            a->format = optarg;
            break;
        case 'o':
            a->output = optarg;
            break;
        case 'h':
            fputs(help, stdout);
            return 1;
        default:
            fprintf(stderr, "usage: see `gprofctl %s --help`\n", verb);
            return 2;
        }
    }
    *rest = optind;
    const char *c = gpctl_coordinator(a->coord, a->cbuf, sizeof(a->cbuf));
    if (!c) {
        fprintf(stderr,
                "gprofctl %s: no coordinator: pass --coordinator URL or set GPROF_COORDINATOR\n",
                verb);
        return 2;
    }
    a->coord = c;
    a->token = gpctl_token(a->token);
    return 0;
}

static const char hosts_help[] =
        "NAME\n"
        "    gprofctl hosts - the fleet's hosts as the coordinator sees them\n"
        "\n"
        "SYNOPSIS\n"
        "    gprofctl hosts [--service S] [--host H] [--json] [--coordinator URL] [--token T]\n"
        "\n"
        "DESCRIPTION\n"
        "    Lists every host whose agent sent a heartbeat: service, address, liveness (active\n"
        "    while heartbeats arrive), the current profiling command from the coordinator and\n"
        "    its status (COMMAND, \"-\" when none was sent), what the agent said it profiles at\n"
        "    its last heartbeat (PROFILING: continuous and/or ad hoc sessions with their\n"
        "    frequency, idle, or unknown for agents that do not report it), the pids the\n"
        "    command targets and the time of the last heartbeat.\n"
        "\n"
        "OPTIONS\n"
        "    --service S          only hosts of services whose name contains S\n"
        "    --host H             only hosts whose name contains H\n"
        "    --json               the coordinator's answer as JSON\n"
        "    --coordinator URL    the coordinator (or GPROF_COORDINATOR)\n"
        "    --token T            its UI/API token (or GPROF_UI_TOKEN)\n";

static int list_hosts(const char *verb, const struct fargs *a, json_object **out)
{
    struct strbuf url = STRBUF_INIT;
    sb_printf(&url, "%s/api/metrics/profiling/host_status?x=1", a->coord);
    if (a->service) {
        sb_puts(&url, "&service_name=");
        esc(&url, a->service);
    }
    if (a->host) {
        sb_puts(&url, "&hostname=");
        esc(&url, a->host);
    }
    int rc = api(verb, "GET", sb_str(&url), a->token, NULL, out);
    sb_free(&url);
    return rc;
}

/* What the host's agent said it runs at its last heartbeat: "continuous 11 Hz", "ad hoc 99 Hz",
 * both, "idle"; "-" for an offline host; "unknown" when the agent does not report sessions
 * (gProfiler agents). */
static void profiling_text(json_object *h, char *buf, size_t len)
{
    json_object *rs = json_object_object_get(h, "running_sessions");
    const char *live = has(h, "status");
    if (live && strcmp(live, "active")) {
        snprintf(buf, len, "-");
        return;
    }
    if (!rs || !json_object_is_type(rs, json_type_array)) {
        snprintf(buf, len, "unknown");
        return;
    }
    size_t l = 0, n = json_object_array_length(rs);
    buf[0] = '\0';
    for (size_t i = 0; i < n && l < len; i++) {
        json_object *s = json_object_array_get_idx(rs, i);
        const char *slot = str(s, "slot");
        json_object *f = json_object_object_get(s, "frequency");
        l += (size_t)snprintf(buf + l, len - l, "%s%s %d Hz", l ? ", " : "",
                              !strcmp(slot, "adhoc") ? "ad hoc" : slot,
                              f ? json_object_get_int(f) : 0);
    }
    if (!n)
        snprintf(buf, len, "idle");
}

int cmd_hosts(int argc, char **argv)
{
    struct fargs a;
    int rest, rc = fparse("hosts", hosts_help, argc, argv, &a, &rest);
    if (rc)
        return rc == 1 ? 0 : 2;
    json_object *r = NULL;
    if (list_hosts("hosts", &a, &r))
        return 1;
    if (a.json) {
        printf("%s\n", r ? json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN) : "[]");
        json_object_put(r);
        return 0;
    }
    json_object *arr = rows_of(r);
    size_t n = arr ? json_object_array_length(arr) : 0;
    printf("%-24s %-16s %-15s %-8s %-15s %-26s %-14s %s\n", "HOST", "SERVICE", "IP", "STATUS",
           "COMMAND", "PROFILING", "PIDS", "LAST HEARTBEAT");
    for (size_t i = 0; i < n; i++) {
        json_object *h = json_object_array_get_idx(arr, i);
        char pids[128] = "-";
        json_object *p = json_object_object_get(h, "pids");
        size_t np = p ? json_object_array_length(p) : 0, l = 0;
        for (size_t k = 0; k < np && l < sizeof(pids) - 12; k++)
            l += (size_t)snprintf(pids + l, sizeof(pids) - l, "%s%d", k ? "," : "",
                                  json_object_get_int(json_object_array_get_idx(p, k)));
        /* the current command: "start sent", "stop completed", or none */
        char cmd[64] = "-";
        const char *ct = has(h, "command_type");
        if (ct && strcmp(ct, "N/A"))
            snprintf(cmd, sizeof(cmd), "%s %s", ct, str(h, "profiling_status"));
        char prof[128];
        profiling_text(h, prof, sizeof(prof));
        printf("%-24s %-16s %-15s %-8s %-15s %-26s %-14s %s\n", str(h, "hostname"),
               str(h, "service_name"), has(h, "ip_address") ? str(h, "ip_address") : "-",
               has(h, "status") ? str(h, "status") : "-", cmd, prof, pids,
               str(h, "heartbeat_timestamp"));
    }
    if (!n)
        printf("(no host has sent a heartbeat yet)\n");
    json_object_put(r);
    return 0;
}

static const char requests_help[] =
        "NAME\n"
        "    gprofctl requests - profiling requests and the commands they became\n"
        "\n"
        "SYNOPSIS\n"
        "    gprofctl requests [REQUEST_ID] [--service S] [--json] [--coordinator URL]\n"
        "\n"
        "DESCRIPTION\n"
        "    With REQUEST_ID: the request's status and, per host, its execution (status,\n"
        "    execution time, error, and results_path, the URL of the ad hoc flame graph).\n"
        "    Without: the current command of every host (what the last request asked of it)\n"
        "    and how far it got.\n"
        "\n"
        "OPTIONS\n"
        "    --service S          only hosts of this service (without REQUEST_ID)\n"
        "    --json               the coordinator's answer as JSON\n"
        "    --coordinator URL    the coordinator (or GPROF_COORDINATOR)\n"
        "    --token T            its UI/API token (or GPROF_UI_TOKEN)\n";

int cmd_requests(int argc, char **argv)
{
    struct fargs a;
    int rest, rc = fparse("requests", requests_help, argc, argv, &a, &rest);
    if (rc)
        return rc == 1 ? 0 : 2;
    json_object *r = NULL;
    if (rest < argc) {
        struct strbuf url = STRBUF_INIT;
        sb_printf(&url, "%s/api/metrics/profile_request?request_id=", a.coord);
        esc(&url, argv[rest]);
        rc = api("requests", "GET", sb_str(&url), a.token, NULL, &r);
        sb_free(&url);
        if (rc)
            return 1;
        if (a.json) {
            printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
        } else {
            printf("request %s: %s %s, service %s\n", str(r, "request_id"), str(r, "request_type"),
                   str(r, "status"), str(r, "service_name"));
            json_object *ex = json_object_object_get(r, "executions");
            for (size_t i = 0; ex && i < json_object_array_length(ex); i++) {
                json_object *e = json_object_array_get_idx(ex, i);
                const char *p = has(e, "results_path"), *em = has(e, "error_message");
                printf("  %-24s %-10s %-6s %s\n", str(e, "hostname"), str(e, "status"),
                       has(e, "execution_time") ? str(e, "execution_time") : "-",
                       p    ? p
                       : em ? em
                            : "");
            }
        }
        json_object_put(r);
        return 0;
    }
    if (list_hosts("requests", &a, &r))
        return 1;
    json_object *arr = rows_of(r);
    if (a.json) {
        printf("%s\n", arr ? json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN) : "[]");
        json_object_put(r);
        return 0;
    }
    printf("%-24s %-16s %-38s %-6s %s\n", "HOST", "SERVICE", "COMMAND", "TYPE", "STATUS");
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *h = json_object_array_get_idx(arr, i);
        printf("%-24s %-16s %-38s %-6s %s\n", str(h, "hostname"), str(h, "service_name"),
               has(h, "command_id") ? str(h, "command_id") : "-", str(h, "command_type"),
               str(h, "profiling_status"));
    }
    json_object_put(r);
    return 0;
}

static const char flamegraph_help[] =
        "NAME\n"
        "    gprofctl flamegraph - download a service's merged flame graph\n"
        "\n"
        "SYNOPSIS\n"
        "    gprofctl flamegraph --service S [--since DURATION] [--host H] -o FILE\n"
        "                        [--format html|collapsed|pprof|json] [--coordinator URL]\n"
        "\n"
        "DESCRIPTION\n"
        "    Merges every profile the coordinator holds for the service over the last\n"
        "    DURATION and writes it to FILE: a self-contained HTML flame graph (works\n"
        "    offline), collapsed stacks, pprof or the flame tree JSON.\n"
        "\n"
        "OPTIONS\n"
        "    --service S          the service (required)\n"
        "    --since DURATION     how far back: a number and a unit, s, m, h or d: 30s, 15m,\n"
        "                         1h, 2d (default 1h)\n"
        "    --host H             only this host's profiles (its exact name)\n"
        "    -o, --output FILE    where to write (required); the format follows the extension\n"
        "                         (.html, .col/.txt, .pb.gz, .json); another extension needs\n"
        "                         --format\n"
        "    --format F           html, collapsed, pprof or json, whatever the extension\n"
        "    --coordinator URL    the coordinator (or GPROF_COORDINATOR)\n"
        "    --token T            its UI/API token (or GPROF_UI_TOKEN)\n";

/* "30s", "15m", "1h", "2d" (a number and one unit) -> seconds, or -1. */
static long parse_since(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v > 0) || v > 3650)
        return -1;
    long mul = !strcmp(end, "s")   ? 1
               : !strcmp(end, "m") ? 60
               : !strcmp(end, "h") ? 3600
               : !strcmp(end, "d") ? 86400
                                   : -1;
    return mul < 0 ? -1 : (long)(v * (double)mul);
}

/* The coordinator's format name for --format or the extension of -o; NULL after an error. */
static const char *flamegraph_format(const char *format, const char *output)
{
    if (format) {
        static const char *const names[][2] = {{"html", "html"},
                                               {"collapsed", "collapsed"},
                                               {"pprof", "pprof"},
                                               {"json", "flamegraph"}};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (!strcmp(format, names[i][0]))
                return names[i][1];
        fprintf(stderr, "gprofctl flamegraph: --format '%s': use html, collapsed, pprof or json\n",
                format);
        return NULL;
    }
    switch (gpctl_format_from_path(output, true)) {
    case GPCTL_FMT_HTML:
        return "html";
    case GPCTL_FMT_COLLAPSED:
        return "collapsed";
    case GPCTL_FMT_PPROF:
        return "pprof";
    case GPCTL_FMT_JSON:
        return "flamegraph";
    default:
        fprintf(stderr,
                "gprofctl flamegraph: -o %s: unknown extension; use %s, or name the format "
                "with --format\n",
                output, gpctl_format_extensions(true));
        return NULL;
    }
}

int cmd_flamegraph(int argc, char **argv)
{
    struct fargs a;
    int rest, rc = fparse("flamegraph", flamegraph_help, argc, argv, &a, &rest);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (!a.service || !a.output) {
        fprintf(stderr, "gprofctl flamegraph: --service S and -o FILE are required\n");
        return 2;
    }
    long since = parse_since(a.since ? a.since : "1h");
    if (since <= 0) {
        fprintf(stderr,
                "gprofctl flamegraph: --since '%s': give a number and a unit, s (seconds), m "
                "(minutes), h (hours) or d (days), like 30s, 15m, 1h, 2d\n",
                a.since);
        return 2;
    }
    const char *fmt = flamegraph_format(a.format, a.output);
    if (!fmt)
        return 2;
    time_t now = time(NULL), from = now - since;
    char t0[32], t1[32];
    struct tm tm;
    gmtime_r(&from, &tm);
    strftime(t0, sizeof(t0), "%Y-%m-%dT%H:%M:%S", &tm);
    now += 60; /* a profile that ends right now is included */
    gmtime_r(&now, &tm);
    strftime(t1, sizeof(t1), "%Y-%m-%dT%H:%M:%S", &tm);
    struct strbuf url = STRBUF_INIT;
    sb_printf(&url, "%s/api/flamegraph?format=%s&startTime=%s&endTime=%s&serviceName=", a.coord,
              fmt, t0, t1);
    esc(&url, a.service);
    if (a.host) {
        sb_puts(&url, "&filter=");
        struct strbuf f = STRBUF_INIT;
        sb_printf(&f, "{\"HostName\":{\"$eq\":\"%s\"}}", a.host);
        esc(&url, sb_str(&f));
        sb_free(&f);
    }
    long status = 0;
    char *body = NULL;
    size_t len = 0;
    struct gp_err err = {0};
    rc = gp_http_get_raw(sb_str(&url), a.token, 120, &status, &body, &len, &err);
    sb_free(&url);
    if (rc) {
        fprintf(stderr, "gprofctl flamegraph: cannot reach the coordinator: %s\n", err.msg);
        return 1;
    }
    if (status == 204) {
        if (a.host)
            fprintf(stderr,
                    "gprofctl flamegraph: no profiles for service %s from host %s in the last "
                    "%s; `gprofctl hosts --service %s` lists its hosts\n",
                    a.service, a.host, a.since ? a.since : "1h", a.service);
        else
            fprintf(stderr, "gprofctl flamegraph: no profiles for service %s in the last %s\n",
                    a.service, a.since ? a.since : "1h");
        free(body);
        return 1;
    }
    if (status != 200) {
        json_object *j = body ? json_tokener_parse(body) : NULL;
        const char *m = has(j, "message");
        fprintf(stderr, "gprofctl flamegraph: the coordinator answered HTTP %ld: %.300s%s\n",
                status,
                m      ? m
                : body ? body
                       : "",
                status == 404 || status == 406 ? "; check --service (see gprofctl hosts)" : "");
        json_object_put(j);
        free(body);
        return 1;
    }
    int wrc = gp_atomic_write(a.output, body, len, 0644);
    if (wrc != 0) {
        fprintf(stderr, "gprofctl flamegraph: cannot write %s: %s\n", a.output, strerror(-wrc));
        free(body);
        return 1;
    }
    free(body);
    printf("%s (%zu bytes, %s, service %s, last %s)\n", a.output, len, fmt, a.service,
           a.since ? a.since : "1h");
    return 0;
}
