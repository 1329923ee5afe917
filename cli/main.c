/* main.c — gprofctl: dispatches `gprofctl VERB ...` to the verb's file. */
#include <stdio.h>
#include <string.h>

#include "cli/endpoints.h"
#include "cli/gprofctl.h"
#include "cli/stat.h"

static const struct verb {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} verbs[] = {
        {"record", cmd_record, "profile the host, some pids or a command; write a flame graph"},
        {"start", cmd_start, "ask the agent (or the fleet) for an ad hoc profiling session"},
        {"stop", cmd_stop, "stop command-started profiling, or some pids of it"},
        {"status", cmd_status, "what the local agent is doing: slots, queue, heartbeat, spool"},
        {"hosts", cmd_hosts, "the fleet's hosts and their profiling state (coordinator)"},
        {"requests", cmd_requests, "profiling requests and their per-host results (coordinator)"},
        {"flamegraph", cmd_flamegraph, "download a service's merged flame graph (coordinator)"},
        {"audit", cmd_audit, "who did what: the coordinator's audit log (admins)"},
        {"stat", cmd_stat,
         "hardware and software counters (PerfSpect) of the host, pids or a command"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: gprofctl VERB [OPTIONS]\n\nverbs:\n");
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        fprintf(f, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "\n`gprofctl VERB --help` describes a verb. `gprofctl --version` prints the "
               "version.\n"
               "Every verb that talks to an https:// coordinator checks its certificate against "
               "the\nsystem CA store, or --ca-file FILE (or GPROF_CA_FILE); --no-verify skips "
               "the check\n(insecure, warned about).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("gprofctl %s\n", GPROF_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (!strcmp(argv[1], verbs[i].name)) {
            int vargc = argc - 1;
            if (gpctl_tls_options(&vargc, argv + 1) != 0)
                return 2;
            return verbs[i].fn(vargc, argv + 1);
        }
    fprintf(stderr, "gprofctl: unknown verb '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
