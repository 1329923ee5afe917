/* agentctl.c — `gprofctl start`, `stop` and `status`: talk to the local agent over its control
 * socket, or (with --coordinator and --host/--service) to the fleet through the coordinator. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/control/control.h"
#include "cli/endpoints.h"
#include "cli/fleet.h"
#include "cli/gprofctl.h"

#define MAX_PIDS 256

static const char start_help[] =
        "NAME\n"
        "    gprofctl start - profile processes now, beside continuous profiling\n"
        "\n"
        "SYNOPSIS\n"
        "    gprofctl start [--pid PID]... [-d SECONDS] [-F HZ] [--perfspect] [--no-wait]\n"
        "                   [--json] [--socket PATH]\n"
        "    gprofctl start --coordinator URL (--host H... | --service S) [--pid PID]...\n"
        "                   [-d SECONDS] [-F HZ] [--perfspect] [--no-wait] [--json]\n"
        "\n"
        "DESCRIPTION\n"
        "    Asks the gprof agent on this host to run an ad hoc profiling session: the given\n"
        "    processes (all their threads), or the whole host without --pid. The session runs\n"
        "    in the agent's ad hoc slot with its own sampler, so continuous profiling goes on.\n"
        "    A session ends after its duration, or earlier when every pid has exited or\n"
        "    `gprofctl stop` removes them.\n"
        "\n"
        "    While it runs, start prints a progress line; at the end it prints where the flame\n"
        "    graph is: the HTML file on this host (every ad hoc result is kept in the agent's\n"
        "    state directory) and, when the agent uploads to a coordinator, its URL there.\n"
        "\n"
        "    With --coordinator (or GPROF_COORDINATOR) and --host or --service, the request\n"
        "    goes to the coordinator, which hands it to the agents of those hosts at their\n"
        "    next heartbeat (every 30 s by default), so a request waits up to one heartbeat\n"
        "    interval before it starts; start says what it waits for and when each host's next\n"
        "    heartbeat is due, then waits for their completion reports and prints the\n"
        "    results' URLs. --service alone targets every active host of the service.\n"
        "\n"
        "OPTIONS\n"
        "    -p, --pid PID        a process to profile; repeat for several (default: whole host)\n"
        "    -d, --duration SECS  1 to 86400 (default 60)\n"
        "    -F, --freq HZ        samples per second per CPU, 1 to 1000 (default 99)\n"
        "    --perfspect          also collect hardware counters (PerfSpect) where supported\n"
        "    --no-wait            print the command id and return at once\n"
        "    --json               print the final result as JSON\n"
        "    --socket PATH        the agent's control socket (default /run/gprof/agent.sock,\n"
        "                         or GPROF_AGENT_SOCKET)\n"
        "    --coordinator URL    fleet mode: send the request to this coordinator\n"
        "    --host H             fleet mode: a target host; repeat for several\n"
        "    --service S          fleet mode: the service of the hosts; with --host it is\n"
        "                         needed only when a host reports under several services\n"
        "    --token T            fleet mode: the coordinator's UI/API token (or GPROF_UI_TOKEN)\n"
        "\n"
        "EXIT STATUS\n"
        "    0 when the session completed, 1 when it failed or the agent cannot be reached,\n"
        "    2 on a usage error.\n"
        "\n"
        "EXAMPLES\n"
        "    sudo gprofctl start --pid $(pidof myserver) -d 30\n"
        "    gprofctl start --coordinator http://coord:8080 --host web-3 --pid 4242\n";

static const char stop_help[] =
        "NAME\n"
        "    gprofctl stop - stop ad hoc profiling started by commands\n"
        "\n"
        "SYNOPSIS\n"
        "    gprofctl stop [--pid PID]... [--json] [--socket PATH]\n"
        "    gprofctl stop --coordinator URL (--host H... | --service S) [--pid PID]...\n"
        "\n"
        "DESCRIPTION\n"
        "    With --pid (process level): removes those processes from the running ad hoc\n"
        "    session; the session ends, and its result is kept, when none remain.\n"
        "    Without --pid (host level): ends every command-started session at once (its\n"
        "    result is still kept and reported) and drops queued ad hoc commands. Continuous\n"
        "    profiling from the agent's configuration keeps running.\n"
        "\n"
        "    In fleet mode the stop goes through the coordinator to the named hosts (with\n"
        "    --service alone: every active host of the service) at their next heartbeat.\n"
        "\n"
        "    On this host, when no command-started session runs and no ad hoc command waits,\n"
        "    stop says \"nothing to stop\", sends nothing and exits 0 (with --json:\n"
        "    {\"ok\":true,\"stopped\":false,...}); with --pid, the same when none of the pids is\n"
        "    in the running ad hoc session.\n"
        "\n"
        "OPTIONS\n"
        "    -p, --pid PID        process-level stop for PID; repeat for several\n"
        "    --json               print the agent's answer as JSON\n"
        "    --socket PATH        the agent's control socket\n"
        "    --coordinator URL, --host H, --service S, --token T   fleet mode, as for start\n"
        "\n"
        "EXIT STATUS\n"
        "    0 when the stop was sent or there was nothing to stop, 1 when the agent or the\n"
        "    coordinator cannot be reached or refused it, 2 on a usage error.\n";

static const char status_help[] =
        "NAME\n"
        "    gprofctl status - what the local gprof agent is doing\n"
        "\n"
        "SYNOPSIS\n"
        "    gprofctl status [--json] [--socket PATH]\n"
        "\n"
        "DESCRIPTION\n"
        "    Shows the agent's slots (continuous and ad hoc sessions with their settings and\n"
        "    progress), the command queue, the last heartbeat to the coordinator, the upload\n"
        "    spool (profiles waiting, dropped, last error) and the latest ad hoc results.\n"
        "\n"
        "OPTIONS\n"
        "    --json               the full status as one JSON object\n"
        "    --socket PATH        the agent's control socket (default /run/gprof/agent.sock)\n";

enum { O_SOCKET = 1000, O_JSON, O_NOWAIT, O_PERFSPECT, O_COORD, O_HOST, O_SERVICE, O_TOKEN };

static const struct option opts[] = {
        {"pid", required_argument, NULL, 'p'},
        {"duration", required_argument, NULL, 'd'},
        {"freq", required_argument, NULL, 'F'},
        {"frequency", required_argument, NULL, 'F'},
        {"perfspect", no_argument, NULL, O_PERFSPECT},
        {"no-wait", no_argument, NULL, O_NOWAIT},
        {"json", no_argument, NULL, O_JSON},
        {"socket", required_argument, NULL, O_SOCKET},
        {"coordinator", required_argument, NULL, O_COORD},
        {"host", required_argument, NULL, O_HOST},
        {"service", required_argument, NULL, O_SERVICE},
        {"token", required_argument, NULL, O_TOKEN},
        {"help", no_argument, NULL, 'h'},
        {0},
};

struct args {
    int pids[MAX_PIDS];
    size_t npids;
    long duration, frequency;
    int perfspect, no_wait, json;
    const char *socket, *coordinator, *service, *token;
    const char *hosts[64];
    size_t nhosts;
};

static int parse_long(const char *verb, const char *what, const char *s, long lo, long hi,
                      long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "gprofctl %s: %s '%s' is invalid: use a number from %ld to %ld\n", verb,
                what, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* Returns 0, 1 (help printed) or 2 (usage error). */
static int parse(const char *verb, const char *help, int argc, char **argv, struct args *a,
                 int allow_settings)
{
    memset(a, 0, sizeof(*a));
    a->duration = 60;
    a->frequency = 99;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "p:d:F:h", opts, NULL)) != -1) {
        long v;
        switch (o) {
        case 'p':
            if (a->npids == MAX_PIDS) {
                fprintf(stderr, "gprofctl %s: at most %d pids\n", verb, MAX_PIDS);
                return 2;
            }
            if (parse_long(verb, "pid", optarg, 1, 0x7fffffff, &v))
                return 2;
            a->pids[a->npids++] = (int)v;
            break;
        case 'd':
        case 'F':
            if (!allow_settings)
                goto bad;
            if (o == 'd' ? parse_long(verb, "duration", optarg, 1, 86400, &a->duration)
                         : parse_long(verb, "frequency", optarg, 1, 1000, &a->frequency))
                return 2;
            break;
        case O_PERFSPECT:
            if (!allow_settings)
                goto bad;
            a->perfspect = 1;
            break;
        case O_NOWAIT:
            a->no_wait = 1;
            break;
        case O_JSON:
            a->json = 1;
            break;
        case O_SOCKET:
            a->socket = optarg;
            break;
        case O_COORD:
            a->coordinator = optarg;
            break;
        case O_HOST:
            if (a->nhosts < 64)
                a->hosts[a->nhosts++] = optarg;
            break;
        case O_SERVICE:
            a->service = optarg;
            break;
        case O_TOKEN:
            a->token = optarg;
            break;
        case 'h':
            fputs(help, stdout);
            return 1;
        default:
        bad:
            fprintf(stderr, "usage: see `gprofctl %s --help`\n", verb);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gprofctl %s: unexpected argument '%s'; see `gprofctl %s --help`\n", verb,
                argv[optind], verb);
        return 2;
    }
    return 0;
}

static int call(const char *verb, const char *sock, json_object *req, json_object **resp)
{
    struct gp_err err = {0};
    int rc = gp_control_call(sock, req, 30, resp, &err);
    if (rc) {
        fprintf(stderr, "gprofctl %s: %s\n", verb, err.msg);
        return -1;
    }
    json_object *ok = json_object_object_get(*resp, "ok");
    if (!ok || !json_object_get_boolean(ok)) {
        json_object *e = json_object_object_get(*resp, "error");
        fprintf(stderr, "gprofctl %s: the agent refused: %s\n", verb,
                e ? json_object_get_string(e) : "no reason given");
        json_object_put(*resp);
        *resp = NULL;
        return -1;
    }
    return 0;
}

static json_object *pids_json(const struct args *a)
{
    json_object *p = json_object_new_array();
    for (size_t i = 0; i < a->npids; i++)
        json_object_array_add(p, json_object_new_int(a->pids[i]));
    return p;
}

static int fleet(const struct args *a, int stop, const char *coord)
{
    struct gpctl_fleet_req r = {.coordinator = coord,
                                .token = gpctl_token(a->token),
                                .service = a->service,
                                .nhosts = a->nhosts,
                                .pids = a->pids,
                                .npids = a->npids,
                                .duration = a->duration,
                                .frequency = a->frequency,
                                .perfspect = a->perfspect,
                                .stop = stop,
                                .no_wait = a->no_wait,
                                .json = a->json};
    memcpy(r.hosts, a->hosts, sizeof(r.hosts));
    return gpctl_fleet_start_stop(&r);
}

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

int cmd_start(int argc, char **argv)
{
    struct args a;
    int rc = parse("start", start_help, argc, argv, &a, 1);
    if (rc)
        return rc == 1 ? 0 : 2;
    char cb[1024];
    const char *coord = gpctl_coordinator(a.coordinator, cb, sizeof(cb));
    if (coord && (a.nhosts || a.service))
        return fleet(&a, 0, coord);
    if (a.nhosts) {
        fprintf(stderr, "gprofctl start: --host needs a coordinator: add --coordinator URL or set "
                        "GPROF_COORDINATOR\n");
        return 2;
    }
    const char *sock = gpctl_socket(a.socket);
    json_object *req = json_object_new_object(), *resp = NULL;
    json_object_object_add(req, "cmd", json_object_new_string("start"));
    json_object_object_add(req, "pids", pids_json(&a));
    json_object_object_add(req, "duration", json_object_new_int64(a.duration));
    json_object_object_add(req, "frequency", json_object_new_int64(a.frequency));
    json_object_object_add(req, "enable_perfspect", json_object_new_boolean(a.perfspect));
    rc = call("start", sock, req, &resp);
    json_object_put(req);
    if (rc)
        return 1;
    char id[128];
    snprintf(id, sizeof(id), "%s", str(resp, "command_id"));
    json_object_put(resp);
    if (a.no_wait) {
        if (a.json)
            printf("{\"command_id\":\"%s\",\"state\":\"queued\"}\n", id);
        else
            printf("%s\n", id);
        return 0;
    }
    int tty = isatty(STDERR_FILENO);
    int shown = 0;
    char said[16] = ""; /* without a terminal each state is said once */
    for (;;) {
        json_object *q = json_object_new_object();
        json_object_object_add(q, "cmd", json_object_new_string("result"));
        json_object_object_add(q, "command_id", json_object_new_string(id));
        rc = call("start", sock, q, &resp);
        json_object_put(q);
        if (rc)
            return 1;
        const char *state = has(resp, "state");
        if (state && (!strcmp(state, "completed") || !strcmp(state, "failed"))) {
            if (shown && tty)
                fputc('\n', stderr);
            int ok = !strcmp(state, "completed");
            if (a.json) {
                printf("%s\n", json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN));
            } else if (ok) {
                json_object *s = json_object_object_get(resp, "samples");
                printf("profiled %.1f s, %lld samples\n",
                       json_object_get_double(json_object_object_get(resp, "execution_time")),
                       s ? (long long)json_object_get_int64(s) : 0LL);
                if (has(resp, "html"))
                    printf("flame graph: %s\n", str(resp, "html"));
                if (has(resp, "url"))
                    printf("coordinator: %s\n", str(resp, "url"));
            } else {
                fprintf(stderr, "gprofctl start: the session failed: %s\n",
                        has(resp, "error") ? str(resp, "error") : "no reason given");
            }
            json_object_put(resp);
            return ok ? 0 : 1;
        }
        if (state && (tty || strcmp(state, said))) {
            snprintf(said, sizeof(said), "%s", state);
            if (!strcmp(state, "running")) {
                double el = json_object_get_double(json_object_object_get(resp, "elapsed"));
                json_object *du = json_object_object_get(resp, "duration");
                json_object *sm = json_object_object_get(resp, "samples");
                fprintf(stderr, "%s%s: profiling %.0f/%.0f s, %lld samples%s", tty ? "\r" : "", id,
                        el, du ? json_object_get_double(du) : (double)a.duration,
                        sm ? (long long)json_object_get_int64(sm) : 0LL, tty ? "   " : "\n");
                shown = 1;
            } else if (!strcmp(state, "queued")) {
                fprintf(stderr, "%s%s: queued (the ad hoc slot runs one session at a time)%s",
                        tty ? "\r" : "", id, tty ? "   " : "\n");
                shown = 1;
            }
            fflush(stderr);
        }
        json_object_put(resp);
        struct timespec ts = {0, 300 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Asks the agent what command-started profiling runs or waits. Returns 1 (with why) when a
 * stop would end nothing, 0 when it would, -1 when the agent cannot be asked. */
static int nothing_to_stop(const char *sock, const struct args *a, char *why, size_t len)
{
    json_object *req = json_object_new_object(), *r = NULL;
    json_object_object_add(req, "cmd", json_object_new_string("status"));
    int rc = call("stop", sock, req, &r);
    json_object_put(req);
    if (rc)
        return -1;
    json_object *slots = json_object_object_get(r, "slots");
    json_object *adhoc = json_object_object_get(slots, "adhoc");
    json_object *cont = json_object_object_get(slots, "continuous");
    json_object *q = json_object_object_get(r, "queue");
    size_t nq = q ? json_object_array_length(q) : 0;
    int idle = !adhoc && !has(cont, "command_id") && !nq;
    if (idle) {
        snprintf(why, len, "no command-started profiling runs or waits on this agent%s",
                 cont ? " (continuous profiling from its configuration goes on)" : "");
    } else if (a->npids && !nq) {
        json_object *p = adhoc ? json_object_object_get(adhoc, "pids") : NULL;
        size_t np = p ? json_object_array_length(p) : 0;
        int found = 0;
        for (size_t i = 0; i < a->npids && !found; i++)
            for (size_t k = 0; k < np && !found; k++)
                found = json_object_get_int(json_object_array_get_idx(p, k)) == a->pids[i];
        if (!found) {
            idle = 1;
            snprintf(why, len, "%s",
                     adhoc ? "none of these pids is in the running ad hoc session"
                           : "no ad hoc session runs on this agent");
        }
    }
    json_object_put(r);
    return idle;
}

int cmd_stop(int argc, char **argv)
{
    struct args a;
    int rc = parse("stop", stop_help, argc, argv, &a, 0);
    if (rc)
        return rc == 1 ? 0 : 2;
    char cb[1024];
    const char *coord = gpctl_coordinator(a.coordinator, cb, sizeof(cb));
    if (coord && (a.nhosts || a.service))
        return fleet(&a, 1, coord);
    const char *sock = gpctl_socket(a.socket);
    char why[256];
    rc = nothing_to_stop(sock, &a, why, sizeof(why));
    if (rc < 0)
        return 1;
    if (rc > 0) {
        if (a.json) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "ok", json_object_new_boolean(1));
            json_object_object_add(o, "stopped", json_object_new_boolean(0));
            json_object_object_add(o, "reason", json_object_new_string(why));
            printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
            json_object_put(o);
        } else
            printf("nothing to stop: %s\n", why);
        return 0;
    }
    json_object *req = json_object_new_object(), *resp = NULL;
    json_object_object_add(req, "cmd", json_object_new_string("stop"));
    if (a.npids) {
        json_object_object_add(req, "pids", pids_json(&a));
        json_object_object_add(req, "stop_level", json_object_new_string("process"));
    } else {
        json_object_object_add(req, "stop_level", json_object_new_string("host"));
    }
    rc = call("stop", sock, req, &resp);
    json_object_put(req);
    if (rc)
        return 1;
    if (a.json)
        printf("%s\n", json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN));
    else if (a.npids)
        printf("stop queued (%s): pid%s removed from the ad hoc session\n", str(resp, "command_id"),
               a.npids == 1 ? "" : "s");
    else
        printf("stop queued (%s): command-started profiling ends now\n", str(resp, "command_id"));
    json_object_put(resp);
    return 0;
}

/* 0 B, 900 B, 1.5 KiB, 256 MiB: one decimal unless the value is whole in its unit. */
static void human_bytes(int64_t v, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (v < 1024) {
        snprintf(buf, len, "%lld B", (long long)(v < 0 ? 0 : v));
        return;
    }
    size_t u = 0;
    int64_t div = 1;
    while (u + 1 < sizeof(units) / sizeof(units[0]) && v / div >= 1024) {
        div *= 1024;
        u++;
    }
    if (v % div == 0)
        snprintf(buf, len, "%lld %s", (long long)(v / div), units[u]);
    else
        snprintf(buf, len, "%.1f %s", (double)v / (double)div, units[u]);
}

static void fmt_age(time_t t, char *buf, size_t len)
{
    if (!t) {
        snprintf(buf, len, "never");
        return;
    }
    long d = (long)(time(NULL) - t);
    snprintf(buf, len, "%lds ago", d < 0 ? 0 : d);
}

static void print_slot(const char *name, json_object *s)
{
    if (!s) {
        printf("  %-11s idle\n", name);
        return;
    }
    const char *cmd = has(s, "command_id");
    printf("  %-11s %d Hz, %d s%s%s", name,
           json_object_get_int(json_object_object_get(s, "frequency")),
           json_object_get_int(json_object_object_get(s, "duration")),
           cmd ? ", command " : " sessions (configuration)", cmd ? cmd : "");
    json_object *n = json_object_object_get(s, "sessions");
    if (n)
        printf(", %lld sessions done", (long long)json_object_get_int64(n));
    json_object *el = json_object_object_get(s, "elapsed");
    if (el)
        printf(", %.0f s elapsed, %lld samples", json_object_get_double(el),
               (long long)json_object_get_int64(json_object_object_get(s, "samples")));
    json_object *p = json_object_object_get(s, "pids");
    if (p && json_object_array_length(p)) {
        printf(", pids");
        for (size_t i = 0; i < json_object_array_length(p); i++)
            printf("%c%d", i ? ',' : ' ', json_object_get_int(json_object_array_get_idx(p, i)));
    } else if (p) {
        printf(", whole host");
    }
    printf("\n");
}

int cmd_status(int argc, char **argv)
{
    struct args a;
    int rc = parse("status", status_help, argc, argv, &a, 0);
    if (rc)
        return rc == 1 ? 0 : 2;
    json_object *req = json_object_new_object(), *r = NULL;
    json_object_object_add(req, "cmd", json_object_new_string("status"));
    rc = call("status", gpctl_socket(a.socket), req, &r);
    json_object_put(req);
    if (rc)
        return 1;
    if (a.json) {
        printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY |
                                                                 JSON_C_TO_STRING_SPACED));
        json_object_put(r);
        return 0;
    }
    printf("agent      %s (pid %d) on %s, service %s, %s sampler, up %llds\n",
           str(r, "agent_version"), json_object_get_int(json_object_object_get(r, "pid")),
           str(r, "hostname"), str(r, "service"), str(r, "sampler"),
           (long long)json_object_get_int64(json_object_object_get(r, "uptime")));
    printf("state dir  %s\n", str(r, "state_dir"));
    json_object *slots = json_object_object_get(r, "slots");
    printf("slots\n");
    print_slot("continuous", json_object_object_get(slots, "continuous"));
    print_slot("ad hoc", json_object_object_get(slots, "adhoc"));
    json_object *q = json_object_object_get(r, "queue");
    size_t nq = q ? json_object_array_length(q) : 0;
    printf("queue      %zu command%s\n", nq, nq == 1 ? "" : "s");
    for (size_t i = 0; i < nq; i++) {
        json_object *e = json_object_array_get_idx(q, i);
        printf("  %s  %s\n", str(e, "command_id"), str(e, "what"));
    }
    json_object *hb = json_object_object_get(r, "heartbeat");
    if (!has(r, "coordinator")) {
        printf("coordinator none (results stay on this host)\n");
    } else {
        char last[64], ok[64];
        fmt_age((time_t)json_object_get_int64(json_object_object_get(hb, "last")), last,
                sizeof(last));
        fmt_age((time_t)json_object_get_int64(json_object_object_get(hb, "last_ok")), ok,
                sizeof(ok));
        printf("coordinator %s\n", str(r, "coordinator"));
        printf("heartbeat  every %llds; last %s, last answered %s%s%s\n",
               (long long)json_object_get_int64(json_object_object_get(hb, "interval")), last, ok,
               has(hb, "error") ? "; error: " : "", has(hb, "error") ? str(hb, "error") : "");
        json_object *sp = json_object_object_get(r, "spool");
        if (sp) {
            char used[32], max[32];
            human_bytes(json_object_get_int64(json_object_object_get(sp, "bytes")), used,
                        sizeof(used));
            human_bytes(json_object_get_int64(json_object_object_get(sp, "max_bytes")), max,
                        sizeof(max));
            printf("spool      %lld waiting (%s of %s), %lld sent, %lld dropped%s%s\n",
                   (long long)json_object_get_int64(json_object_object_get(sp, "items")), used, max,
                   (long long)json_object_get_int64(json_object_object_get(sp, "sent")),
                   (long long)json_object_get_int64(json_object_object_get(sp, "dropped")),
                   has(sp, "last_error") ? "; last error: " : "",
                   has(sp, "last_error") ? str(sp, "last_error") : "");
        }
    }
    json_object *rec = json_object_object_get(r, "recent");
    size_t nr = rec ? json_object_array_length(rec) : 0;
    if (nr)
        printf("recent ad hoc results\n");
    for (size_t i = 0; i < nr; i++) {
        json_object *e = json_object_array_get_idx(rec, i);
        printf("  %s  %s  %s\n", str(e, "command_id"), str(e, "state"),
               has(e, "html")    ? str(e, "html")
               : has(e, "error") ? str(e, "error")
                                 : "");
    }
    json_object_put(r);
    return 0;
}
