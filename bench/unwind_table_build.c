/* unwind_table_build.c — CPU time, rows and bytes of gp_uw_table_build per binary: the first
 * build in a fresh process (what the agent pays when it first meets a binary) and the best of
 * repeated builds. Usage: unwind_table_build [-n ROUNDS] ELF... (see unwind_table_build.sh). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/unwind/table.h"

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int rounds = 20, a = 1;
    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        rounds = atoi(argv[2]);
        a = 3;
    }
    uint64_t first_total = 0;
    for (; a < argc; a++) {
        uint64_t first = 0, best = UINT64_MAX;
        struct gp_uw_table_stats st = {0};
        size_t n = 0;
        for (int r = 0; r < rounds || r == 0; r++) {
            int fd = open(argv[a], O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                perror(argv[a]);
                return 1;
            }
            struct gp_uw_table *t = NULL;
            struct gp_err err = {0};
            uint64_t t0 = cpu_ns();
            int rc = gp_uw_table_build(fd, NULL, &t, &err);
            uint64_t dt = cpu_ns() - t0;
            close(fd);
            if (rc) {
                fprintf(stderr, "%s: %s\n", argv[a], err.msg);
                return 1;
            }
            if (r == 0)
                first = dt;
            best = dt < best ? dt : best;
            st = t->stats;
            n = t->n;
            gp_uw_table_free(t);
        }
        first_total += first;
        printf("%s: fdes=%llu rows=%zu unknown=%llu bytes=%zu (%zu per row) first_cpu_ms=%.2f "
               "best_cpu_ms=%.2f\n",
               argv[a], (unsigned long long)st.fdes, n, (unsigned long long)st.unknown_rows,
               n * sizeof(struct gp_uw_entry), sizeof(struct gp_uw_entry), first / 1e6, best / 1e6);
    }
    printf("total first_cpu_ms=%.2f\n", first_total / 1e6);
    return 0;
}
