/* record.c — `gprofctl record`: profile the whole host, some pids, or a command (like perf record)
 * and write a collapsed, HTML or pprof flame graph. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/header.h"
#include "agent/session.h"
#include "agent/symbols/debuginfod.h"
#include "common/config.h"
#include "cli/gprofctl.h"
#include "cli/outfmt.h"
#include "common/collapsed.h"
#include "common/fsutil.h"
#include "common/html.h"
#include "common/pprof.h"
#include "common/strbuf.h"

#define MAX_PIDS 256

enum out_format { FMT_AUTO, FMT_COLLAPSED, FMT_HTML, FMT_PPROF };

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static const char usage_text[] =
        "usage: gprofctl record [--pid PID]... [-d SECONDS] [-F HZ] [--sampler bpf|perf]\n"
        "                       [--event cpu-clock|cycles] [--format collapsed|html|pprof]\n"
        "                       [-o FILE] [-- COMMAND ARGS...]\n"
        "\n"
        "Samples CPU stacks (user and kernel) and writes a flame graph.\n"
        "\n"
        "What is profiled:\n"
        "  (nothing)            the whole host, until -d elapses or Ctrl-C\n"
        "  -p, --pid PID        a process and all its threads; repeat for several. Ends early\n"
        "                       when every pid has exited (what was sampled is kept)\n"
        "  -- COMMAND ARGS...   starts COMMAND and profiles it until it exits\n"
        "\n"
        "Options:\n"
        "  -d, --duration SECS  stop after SECS seconds (default: until Ctrl-C or exit)\n"
        "  -F, --freq HZ        samples per second per CPU, 1-10000 (default 99)\n"
        "  --sampler bpf|perf   bpf (default): in-kernel aggregation; perf: perf_event ring,\n"
        "                       no BPF. Without this flag BPF is tried and perf is the fallback\n"
        "  --event EVENT        cpu-clock (default, works everywhere) or cycles (needs a PMU)\n"
        "  -o, --output FILE    format from the extension: .col/.txt collapsed, .html, .pb.gz\n"
        "                       pprof; another extension needs --format\n"
        "  --format FMT         collapsed, html or pprof; overrides the extension\n"
        "  --debug-dir DIR      also look for separate debug files under DIR (repeatable)\n"
        "  --debuginfod-urls URLS  fetch the debug files of stripped binaries from these\n"
        "                       debuginfod servers (default $DEBUGINFOD_URLS; \"\" = off), in\n"
        "                       the background: frames are named from the drain after a fetch.\n"
        "                       Cache, bounds: $DEBUGINFOD_CACHE_PATH "
        "(~/.cache/debuginfod_client),\n"
        "                       $DEBUGINFOD_TIMEOUT (30 s), $DEBUGINFOD_MAXSIZE (256M) per file\n"
        "  --unwind-tables-max SIZE  kernel memory for the unwind tables that walk code built\n"
        "                       without frame pointers (default 256M; 0: frame pointers only)\n"
        "  --unwind-tables WHEN host-wide, when binaries get their unwind tables. auto\n"
        "                       (default): every mapped binary of the processes on CPU at the\n"
        "                       start and of those started during the record (their first\n"
        "                       samples unwind); a process asleep at the start, as lazy, at its\n"
        "                       first sample. lazy (BPF sampler): a process's main executable\n"
        "                       and libc when it is first seen, its other binaries when a\n"
        "                       sample lands in them, as the agent does. eager: every mapped\n"
        "                       binary of every process on the host, from the start\n"
        "  -q, --quiet          no progress line\n"
        "  -h, --help           this text\n"
        "\n"
        "Without -o, writes gprof-<UTC time>.html and gprof-<UTC time>.col in the current\n"
        "directory and prints both paths. Needs root (or CAP_BPF + CAP_PERFMON).\n";

static int parse_format(const char *s, enum out_format *f)
{
    if (!strcmp(s, "collapsed") || !strcmp(s, "col"))
        *f = FMT_COLLAPSED;
    else if (!strcmp(s, "html"))
        *f = FMT_HTML;
    else if (!strcmp(s, "pprof"))
        *f = FMT_PPROF;
    else
        return -1;
    return 0;
}

static enum out_format format_from_path(const char *path)
{
    switch (gpctl_format_from_path(path, false)) {
    case GPCTL_FMT_HTML:
        return FMT_HTML;
    case GPCTL_FMT_PPROF:
        return FMT_PPROF;
    case GPCTL_FMT_COLLAPSED:
        return FMT_COLLAPSED;
    default:
        return FMT_AUTO;
    }
}

/* Has this process CAP_BPF and CAP_PERFMON in its effective set? */
static int have_bpf_caps(void)
{
    if (geteuid() == 0)
        return 1;
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return 0;
    char line[256];
    unsigned long long eff = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "CapEff: %llx", &eff) == 1)
            break;
    fclose(f);
    return (eff >> 38 & 1) && (eff >> 39 & 1); /* CAP_PERFMON = 38, CAP_BPF = 39 */
}

/* An output target: the final path and an unpredictable temp file beside it (created with
 * O_EXCL | O_NOFOLLOW: nothing planted in /tmp is followed), renamed on success. */
struct output {
    struct gp_atomic_file f;
    enum out_format fmt;
};

static int output_open(struct output *o, const char *path, enum out_format fmt)
{
    o->fmt = fmt;
    int rc = gp_atomic_open(&o->f, path, 0644);
    if (rc < 0) {
        fprintf(stderr, "gprofctl record: cannot write %s: %s; choose another place with -o\n",
                path, strerror(-rc));
        return -1;
    }
    return 0;
}

static void output_abort(struct output *o)
{
    gp_atomic_abort(&o->f);
}

static int output_commit(struct output *o, struct gp_profile *p, const char *title)
{
    struct strbuf sb = STRBUF_INIT;
    struct gp_err err = {0};
    int rc;
    switch (o->fmt) {
    case FMT_HTML:
        rc = gp_html_write(p, title, &sb, &err);
        break;
    case FMT_PPROF: {
        json_object *f = json_object_object_get(gp_profile_header(p), "sampling_frequency");
        rc = gp_pprof_write(p, (unsigned)json_object_get_int(f), &sb, &err);
        break;
    }
    default: /* a file of its own: its last line ends with a newline */
        rc = gp_collapsed_write_ex(p, GP_COLLAPSED_TRAILING_NL, &sb, &err);
        break;
    }
    if (rc == 0 && sb.oom)
        rc = gp_err_set(&err, -ENOMEM, "out of memory");
    int wrc;
    if (rc == 0 && (wrc = gp_write_all(o->f.fd, sb.buf, sb.len)) != 0)
        rc = gp_err_set(&err, wrc, "write: %s", strerror(-wrc));
    if (rc == 0 && (wrc = gp_atomic_commit(&o->f)) != 0)
        rc = gp_err_set(&err, wrc, "%s", strerror(-wrc));
    gp_atomic_abort(&o->f); /* after a failure before the commit */
    sb_free(&sb);
    if (rc)
        fprintf(stderr, "gprofctl record: writing %s failed: %s\n", o->f.path, err.msg);
    return rc;
}

struct progress_ctx {
    int tty;
    int printed;
};

static void on_progress(const struct gp_session_progress *p, void *ctx)
{
    struct progress_ctx *pc = ctx;
    if (!pc->tty)
        return;
    if (p->duration_s > 0)
        fprintf(stderr, "\r\033[K  recording %5.1f s / %.0f s  ·  %llu samples", p->elapsed_s,
                p->duration_s, (unsigned long long)p->samples);
    else
        fprintf(stderr, "\r\033[K  recording %5.1f s  ·  %llu samples  ·  Ctrl-C to stop",
                p->elapsed_s, (unsigned long long)p->samples);
    if (p->dropped)
        fprintf(stderr, "  ·  %llu dropped", (unsigned long long)p->dropped);
    pc->printed = 1;
}

/* Is name an executable file, directly or through PATH (as execvp would find it)? */
static int find_program(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char buf[4096];
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? p : ".", name);
        if (access(buf, X_OK) == 0)
            return 1;
        p += n + (p[n] == ':');
    }
    errno = ENOENT;
    return 0;
}

/* `-- COMMAND`: the child waits on a pipe until sampling runs, then execs. */
struct child {
    pid_t pid;
    int go_fd;
};

static void release_child(void *ctx)
{
    struct child *c = ctx;
    if (c->go_fd >= 0) {
        char x = 1;
        if (write(c->go_fd, &x, 1) != 1)
            perror("gprofctl record: starting the command");
        close(c->go_fd);
        c->go_fd = -1;
    }
}

static int spawn_held(char **argv, struct child *c)
{
    int p[2], e[2]; /* p: go signal; e: exec failure report (CLOEXEC) */
    if (pipe2(p, O_CLOEXEC) != 0 || pipe2(e, O_CLOEXEC) != 0) {
        perror("gprofctl record: pipe");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("gprofctl record: fork");
        return -1;
    }
    if (pid == 0) {
        close(p[1]);
        close(e[0]);
        char x;
        if (read(p[0], &x, 1) != 1)
            _exit(127); /* the parent gave up before sampling started */
        signal(SIGINT, SIG_DFL);
        execvp(argv[0], argv);
        int err = errno;
        if (write(e[1], &err, sizeof(err)) < 0)
            _exit(127);
        _exit(127);
    }
    close(p[0]);
    close(e[1]);
    c->pid = pid;
    c->go_fd = p[1];
    /* Exec failures are reported after release; keep e[0] to check then. */
    return e[0];
}

int cmd_record(int argc, char **argv)
{
    static const struct option longopts[] = {
            {"pid", required_argument, NULL, 'p'},
            {"duration", required_argument, NULL, 'd'},
            {"freq", required_argument, NULL, 'F'},
            {"sampler", required_argument, NULL, 's'},
            {"event", required_argument, NULL, 'e'},
            {"format", required_argument, NULL, 'f'},
            {"output", required_argument, NULL, 'o'},
            {"debug-dir", required_argument, NULL, 'D'},
            {"debuginfod-urls", required_argument, NULL, 'U'},
            {"unwind-tables-max", required_argument, NULL, 'W'},
            {"unwind-tables", required_argument, NULL, 'L'},
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {0},
    };
    int pids[MAX_PIDS];
    size_t npids = 0;
    const char *debug_dirs[16] = {"/usr/lib/debug"}; /* --debug-dir adds to the default */
    uint64_t uw_max = 0;
    int uw_max_set = 0, uw_lazy = -1, uw_running_first = 1;
    size_t ndebug = 1;
    double duration = 0;
    unsigned freq = 99;
    int explicit_sampler = 0, quiet = 0;
    enum gp_sampler_kind kind = GP_SAMPLER_BPF;
    enum gp_sample_event event = GP_EVENT_CPU_CLOCK;
    enum out_format fmt = FMT_AUTO;
    const char *output = NULL, *debuginfod_urls = NULL;
    char *end;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+p:d:F:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': {
            long v = strtol(optarg, &end, 10);
            if (*end || v <= 0 || v > 4194304) {
                fprintf(stderr, "gprofctl record: --pid '%s' is not a process id\n", optarg);
                return 2;
            }
            if (npids == MAX_PIDS) {
                fprintf(stderr, "gprofctl record: at most %d --pid options\n", MAX_PIDS);
                return 2;
            }
            pids[npids++] = (int)v;
            break;
        }
        case 'd':
            duration = strtod(optarg, &end);
            if (*end || !(duration > 0) || duration > 86400) {
                fprintf(stderr, "gprofctl record: -d '%s': give seconds between 0 and 86400\n",
                        optarg);
                return 2;
            }
            break;
        case 'F': {
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 10000) {
                fprintf(stderr, "gprofctl record: -F '%s': give a frequency of 1-10000 Hz\n",
                        optarg);
                return 2;
            }
            freq = (unsigned)v;
            break;
        }
        case 's':
            explicit_sampler = 1;
            if (!strcmp(optarg, "bpf"))
                kind = GP_SAMPLER_BPF;
            else if (!strcmp(optarg, "perf"))
                kind = GP_SAMPLER_PERF;
            else {
                fprintf(stderr, "gprofctl record: --sampler must be bpf or perf\n");
                return 2;
            }
            break;
        case 'e':
            if (!strcmp(optarg, "cpu-clock"))
                event = GP_EVENT_CPU_CLOCK;
            else if (!strcmp(optarg, "cycles"))
                event = GP_EVENT_CYCLES;
            else {
                fprintf(stderr, "gprofctl record: --event must be cpu-clock or cycles\n");
                return 2;
            }
            break;
        case 'f':
            if (parse_format(optarg, &fmt)) {
                fprintf(stderr, "gprofctl record: --format must be collapsed, html or pprof\n");
                return 2;
            }
            break;
        case 'o':
            output = optarg;
            break;
        case 'W':
            if (gp_parse_size(optarg, &uw_max) != 0) {
                fprintf(stderr,
                        "gprofctl record: --unwind-tables-max: '%s' is not a size "
                        "(e.g. 64M)\n",
                        optarg);
                return 2;
            }
            uw_max_set = 1;
            break;
        case 'L':
            if (strcmp(optarg, "auto") && strcmp(optarg, "lazy") && strcmp(optarg, "eager")) {
                fprintf(stderr,
                        "gprofctl record: --unwind-tables: '%s' is not auto, lazy or eager\n",
                        optarg);
                return 2;
            }
            uw_lazy = strcmp(optarg, "lazy") ? -1 : 0;
            uw_running_first = strcmp(optarg, "eager") != 0;
            break;
        case 'D':
            if (ndebug < sizeof(debug_dirs) / sizeof(debug_dirs[0]))
                debug_dirs[ndebug++] = optarg;
            break;
        case 'U':
            debuginfod_urls = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            fputs(usage_text, stderr);
            return 2;
        }
    }
    if (output && fmt == FMT_AUTO && format_from_path(output) == FMT_AUTO) {
        fprintf(stderr,
                "gprofctl record: -o %s: unknown extension; use %s, or name the format with "
                "--format\n",
                output, gpctl_format_extensions(false));
        return 2;
    }
    char **command = optind < argc ? argv + optind : NULL;
    if (command && !find_program(command[0])) {
        fprintf(stderr, "gprofctl record: cannot run %s: %s\n", command[0],
                strchr(command[0], '/') ? strerror(errno) : "not found in PATH");
        return 1;
    }
    if (command && npids) {
        fprintf(stderr, "gprofctl record: give either --pid or a command, not both\n");
        return 2;
    }
    if (!have_bpf_caps()) {
        fprintf(stderr, "gprofctl record: needs root, or CAP_BPF and CAP_PERFMON; "
                        "run it with sudo\n");
        return 1;
    }
    for (size_t i = 0; i < npids; i++) {
        if (kill(pids[i], 0) != 0 && errno == ESRCH) {
            fprintf(stderr, "gprofctl record: no process with pid %d (see `ps -p %d`)\n", pids[i],
                    pids[i]);
            return 1;
        }
    }

    /* Open the outputs first: a recording must never be lost to an unwritable path. */
    struct output outs[2] = {{.f.fd = -1}, {.f.fd = -1}};
    size_t nouts = 0;
    if (output) {
        enum out_format f = fmt != FMT_AUTO ? fmt : format_from_path(output);
        if (output_open(&outs[nouts++], output, f))
            return 1;
    } else {
        char stamp[32], path[64];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
        snprintf(path, sizeof(path), "gprof-%s.html", stamp);
        if (output_open(&outs[nouts++], path, FMT_HTML))
            return 1;
        snprintf(path, sizeof(path), "gprof-%s.col", stamp);
        if (output_open(&outs[nouts++], path, FMT_COLLAPSED)) {
            output_abort(&outs[0]);
            return 1;
        }
    }

    struct child child = {.pid = -1, .go_fd = -1};
    int exec_err_fd = -1;
    if (command) {
        exec_err_fd = spawn_held(command, &child);
        if (exec_err_fd < 0)
            goto fail_outputs;
        pids[npids++] = child.pid;
    }

    struct gp_session_opts so = {
            .sampler =
                    {.kind = kind, .event = event, .freq_hz = freq, .pids = pids, .npids = npids},
            .auto_fallback = !explicit_sampler,
            .duration_s = duration,
            .debug_dirs = debug_dirs,
            .ndebug_dirs = ndebug,
            .unwind_tables_max = (size_t)uw_max,
            .no_unwind_tables = uw_max_set && uw_max == 0,
            .unwind_lazy = uw_lazy,
            .unwind_running_first = uw_running_first,
            .run_mode = "record",
            .started_cb = command ? release_child : NULL,
            .started_ctx = &child,
    };
    struct gp_session *s = NULL;
    struct gp_err err = {0};
    char notice[256];
    /* still one thread: libdebuginfod is configured through our environment (after the fork:
     * the command keeps the user's) */
    struct gp_debuginfod_cfg dc = {.urls = debuginfod_urls};
    if (gp_debuginfod_configure(&dc, &err) < 0) {
        fprintf(stderr, "gprofctl record: %s\n", err.msg);
        goto fail_child;
    }
    if (gp_session_open(&so, &s, notice, sizeof(notice), &err)) {
        fprintf(stderr, "gprofctl record: %s\n", err.msg);
        goto fail_child;
    }
    if (notice[0])
        fprintf(stderr, "gprofctl record: %s\n", notice);

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct progress_ctx pc = {.tty = !quiet && isatty(STDERR_FILENO)};
    if (pc.tty)
        fprintf(stderr, "  recording %s at %u Hz with the %s sampler…",
                command ? command[0]
                : npids ? "the given pids"
                        : "the whole host",
                freq, gp_session_sampler_kind(s) == GP_SAMPLER_BPF ? "bpf" : "perf");
    /* No progress line, no progress: each one reads ~15 counters from BPF maps, a system call
     * each, every drain. */
    int rc = gp_session_run(s, &g_stop, pc.tty ? on_progress : NULL, &pc, &err);
    if (pc.printed || pc.tty)
        fputc('\n', stderr);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (rc) {
        fprintf(stderr, "gprofctl record: %s\n", err.msg);
        gp_session_close(s);
        goto fail_child;
    }

    if (command) {
        int status = 0, exec_errno = 0;
        if (read(exec_err_fd, &exec_errno, sizeof(exec_errno)) != sizeof(exec_errno))
            exec_errno = 0;
        close(exec_err_fd);
        if (g_stop)
            kill(child.pid, SIGTERM);
        waitpid(child.pid, &status, 0);
        if (exec_errno) {
            fprintf(stderr, "gprofctl record: cannot run %s: %s\n", command[0],
                    strerror(exec_errno));
            gp_session_close(s);
            goto fail_outputs;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status))
            fprintf(stderr, "gprofctl record: %s exited with status %d\n", command[0],
                    WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
            fprintf(stderr, "gprofctl record: %s was killed by signal %d\n", command[0],
                    WTERMSIG(status));
    } else {
        int gone[MAX_PIDS];
        double after[MAX_PIDS];
        size_t ngone = gp_session_exited_targets(s, gone, after, MAX_PIDS);
        for (size_t i = 0; i < ngone; i++)
            fprintf(stderr,
                    "gprofctl record: pid %d exited after %.1f s; the profile keeps what was "
                    "sampled until then\n",
                    gone[i], after[i]);
    }

    struct gp_session_progress pr;
    gp_session_progress(s, &pr);
    struct gp_profile *p = gp_session_take_profile(s, NULL);
    gp_session_close(s);
    if (!p) {
        fprintf(stderr, "gprofctl record: out of memory\n");
        goto fail_outputs;
    }
    char title[256];
    snprintf(title, sizeof(title), "gprof · %s",
             command ? command[0]
             : npids ? "selected processes"
                     : "whole host");
    int failed = 0;
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    for (size_t i = 0; i < nouts; i++)
        failed |= output_commit(&outs[i], p, title) != 0;
    clock_gettime(CLOCK_MONOTONIC, &w1);
    double write_s = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
    gp_profile_free(p);
    if (failed)
        return 1;
    double named = pr.frames
                           ? 100.0 * (double)(pr.frames - pr.frames_unresolved) / (double)pr.frames
                           : 100.0;
    fprintf(stderr,
            "%llu samples in %.1f s, %.1f%% of frames named, %llu dropped; written %.3f s after "
            "sampling ended\n",
            (unsigned long long)pr.samples, pr.elapsed_s, named, (unsigned long long)pr.dropped,
            pr.finish_s + write_s);
    if (pr.samples == 0)
        fprintf(stderr, "gprofctl record: no samples: the target was idle or exited at once\n");
    for (size_t i = 0; i < nouts; i++)
        printf("%s\n", outs[i].f.path);
    return 0;

fail_child:
    if (child.pid > 0) {
        close(child.go_fd); /* the held child reads EOF and exits */
        waitpid(child.pid, NULL, 0);
    }
    if (exec_err_fd >= 0)
        close(exec_err_fd);
fail_outputs:
    for (size_t i = 0; i < nouts; i++)
        output_abort(&outs[i]);
    return 1;
}
