/* stat.c — `gprofctl stat [--pid PID]... [-d S] [-I MS] [--json] [-- CMD...]`: runs a PerfSpect
 * counter session in the foreground and prints the table (or JSON / HTML) when it ends. */
#include "cli/stat.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "perfspect/perfspect.h"

static struct ps_session *volatile g_session; /* for the signal handler only */

static void on_signal(int sig)
{
    (void)sig;
    struct ps_session *s = g_session;
    if (s)
        ps_session_stop(s);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gprofctl stat [--pid PID]... [-d SECONDS] [-I MS] [--json] [-o FILE]\n"
            "                     [--html FILE] [--no-hardware] [--replay FIXTURE] [-- "
            "COMMAND...]\n"
            "\n"
            "Counts hardware events (cycles, instructions, caches, branches, TLB, topdown) and\n"
            "software events (task-clock, context switches, migrations, page faults) with\n"
            "perf_event_open, and prints them with derived metrics (CPI, IPC, MPKI, TMA level 1).\n"
            "Without --pid or COMMAND the whole host is counted, per CPU.\n"
            "\n"
            "  -p, --pid PID      count PID and all its threads and children (repeatable, or a\n"
            "                     comma list); stops when every PID has exited\n"
            "  -d, --duration S   stop after S seconds (default: Ctrl-C, or when the targets end)\n"
            "  -I, --interval MS  interval length (default 1000) and print every interval\n"
            "      --json         print the report as JSON (summary and per interval)\n"
            "  -o, --output FILE  write the table or JSON to FILE instead of stdout\n"
            "      --html FILE    also write the self-contained HTML report to FILE\n"
            "      --no-hardware  count software events only\n"
            "      --replay FILE  replay recorded counter readings instead of counting\n");
}

struct cb_ctx {
    int print_intervals;
};

static void on_interval(const struct ps_report *r, size_t idx, void *ctx)
{
    struct cb_ctx *c = ctx;
    if (c->print_intervals) {
        ps_report_print_interval(r, idx, stderr);
        fflush(stderr);
    }
}

static int add_pids(const char *arg, pid_t **pids, size_t *n)
{
    char *copy = strdup(arg), *save = NULL;
    if (!copy)
        return -1;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long v = strtol(tok, &end, 10);
        if (end == tok || *end || v <= 0 || v > 0x7fffffff) {
            free(copy);
            return -1;
        }
        pid_t *np = realloc(*pids, sizeof(pid_t) * (*n + 1));
        if (!np) {
            free(copy);
            return -1;
        }
        *pids = np;
        (*pids)[(*n)++] = (pid_t)v;
    }
    free(copy);
    return 0;
}

static int output(const struct ps_report *r, int json, const char *html_path, const char *out_path)
{
    struct gp_err err = {0};
    int rc = 0;
    FILE *out = stdout;
    if (out_path && !(out = fopen(out_path, "we"))) {
        fprintf(stderr, "gprofctl stat: cannot write %s: %s\n", out_path, strerror(errno));
        return 1;
    }
    if (json) {
        json_object *o = NULL;
        if (ps_report_json(r, &o, &err)) {
            fprintf(stderr, "gprofctl stat: %s\n", err.msg);
            if (out != stdout)
                fclose(out);
            return 1;
        }
        fprintf(out, "%s\n",
                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        ps_report_print_table(r, out);
    }
    if (out != stdout && fclose(out)) {
        fprintf(stderr, "gprofctl stat: cannot write %s: %s\n", out_path, strerror(errno));
        rc = 1;
    }
    if (html_path) {
        struct strbuf sb = STRBUF_INIT;
        FILE *f = NULL;
        if (ps_report_html(r, &sb, &err)) {
            fprintf(stderr, "gprofctl stat: %s\n", err.msg);
            rc = 1;
        } else if (!(f = fopen(html_path, "we")) || fwrite(sb.buf, 1, sb.len, f) != sb.len) {
            fprintf(stderr, "gprofctl stat: cannot write %s: %s\n", html_path, strerror(errno));
            rc = 1;
        }
        if (f && fclose(f) && !rc) {
            fprintf(stderr, "gprofctl stat: cannot write %s: %s\n", html_path, strerror(errno));
            rc = 1;
        }
        sb_free(&sb);
    }
    fflush(stdout);
    return rc;
}

/* Forks COMMAND stopped before exec; the caller lets it go by closing *go. */
static pid_t spawn_held(char **cmd, int *go)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC))
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[1]);
        char c;
        ssize_t n = read(p[0], &c, 1);
        if (n != 0)
            _exit(127); /* the parent gave up */
        execvp(cmd[0], cmd);
        fprintf(stderr, "gprofctl stat: cannot run %s: %s\n", cmd[0], strerror(errno));
        _exit(127);
    }
    close(p[0]);
    *go = p[1];
    return pid;
}

int cmd_stat(int argc, char **argv)
{
    static const struct option longopts[] = {
            {"pid", required_argument, NULL, 'p'},      {"duration", required_argument, NULL, 'd'},
            {"interval", required_argument, NULL, 'I'}, {"json", no_argument, NULL, 'j'},
            {"html", required_argument, NULL, 'H'},     {"no-hardware", no_argument, NULL, 'n'},
            {"replay", required_argument, NULL, 'r'},   {"output", required_argument, NULL, 'o'},
            {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    pid_t *pids = NULL;
    size_t npids = 0;
    double duration = 0;
    long interval = 0;
    int json = 0, no_hw = 0;
    const char *html = NULL, *replay = NULL, *outp = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "+p:d:I:o:ah", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'p':
            if (add_pids(optarg, &pids, &npids)) {
                fprintf(stderr, "gprofctl stat: bad pid list '%s'\n", optarg);
                free(pids);
                return 2;
            }
            break;
        case 'd':
            duration = strtod(optarg, &end);
            if (end == optarg || *end || !(duration > 0)) {
                fprintf(stderr, "gprofctl stat: -d wants a positive number of seconds\n");
                free(pids);
                return 2;
            }
            break;
        case 'I':
            interval = strtol(optarg, &end, 10);
            if (end == optarg || *end || interval < 10 || interval > 3600000) {
                fprintf(stderr, "gprofctl stat: -I wants milliseconds, 10 or more\n");
                free(pids);
                return 2;
            }
            break;
        case 'a':
            break; /* system-wide is the default without --pid */
        case 'j':
            json = 1;
            break;
        case 'H':
            html = optarg;
            break;
        case 'n':
            no_hw = 1;
            break;
        case 'r':
            replay = optarg;
            break;
        case 'o':
            outp = optarg;
            break;
        case 'h':
            usage(stdout);
            free(pids);
            return 0;
        default:
            usage(stderr);
            free(pids);
            return 2;
        }
    }
    char **cmd = optind < argc ? argv + optind : NULL;
    struct gp_err err = {0};
    if (replay) {
        struct ps_report *r = NULL;
        free(pids);
        if (ps_replay_file(replay, &r, &err)) {
            fprintf(stderr, "gprofctl stat: %s\n", err.msg);
            return 1;
        }
        int rc = output(r, json, html, outp);
        ps_report_free(r);
        return rc;
    }
    if (cmd && npids) {
        fprintf(stderr, "gprofctl stat: give either --pid or a COMMAND, not both\n");
        free(pids);
        return 2;
    }
    int go = -1;
    pid_t child = 0;
    if (cmd) {
        child = spawn_held(cmd, &go);
        if (child < 0) {
            fprintf(stderr, "gprofctl stat: cannot fork: %s\n", strerror(errno));
            return 1;
        }
        pids = malloc(sizeof(pid_t));
        if (!pids) {
            close(go);
            waitpid(child, NULL, 0);
            return 1;
        }
        pids[0] = child;
        npids = 1;
    }
    /* one fd per event and CPU or thread: a big process needs more than the default 1024
     * (raised after the fork: COMMAND keeps its own limit) */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct cb_ctx cbc = {interval > 0};
    struct ps_options o = {.pids = pids,
                           .npids = npids,
                           .interval_ms = interval > 0 ? (unsigned)interval : 1000,
                           .duration_s = duration,
                           .no_hardware = no_hw,
                           .on_interval = on_interval,
                           .cb_ctx = &cbc,
                           .enable_on_exec = cmd != NULL};
    struct ps_session *s = NULL;
    int rc = ps_session_open(&o, &s, &err);
    if (!rc)
        rc = ps_session_start(s, &err);
    if (rc) {
        fprintf(stderr, "gprofctl stat: %s\n", err.msg);
        if (child > 0) {
            kill(child, SIGKILL);
            close(go);
            waitpid(child, NULL, 0);
        }
        ps_session_free(s);
        free(pids);
        return 1;
    }
    g_session = s;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (cmd) {
        close(go); /* lets the command exec, which enables the counters */
    } else {
        fprintf(stderr, "gprofctl stat: counting %s; Ctrl-C to stop\n",
                npids ? "the given pids" : "the whole host");
    }
    rc = ps_session_run(s, &err);
    g_session = NULL;
    int status = 0, exit_rc = 0;
    if (child > 0) {
        if (rc)
            kill(child, SIGKILL);
        if (waitpid(child, &status, 0) == child && WIFEXITED(status))
            exit_rc = WEXITSTATUS(status);
    }
    if (rc) {
        fprintf(stderr, "gprofctl stat: %s\n", err.msg);
        ps_session_free(s);
        free(pids);
        return 1;
    }
    int orc = output(ps_session_report(s), json, html, outp);
    ps_session_free(s);
    free(pids);
    if (orc)
        return 1;
    return cmd && exit_rc ? 1 : 0;
}
