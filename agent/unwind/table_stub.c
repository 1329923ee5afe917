/* table_stub.c — placeholders for the table builder until agent/unwind/table.c lands (weak, so
 * the real definitions win); removed with that merge. */
#include "agent/unwind/table.h"

#include <errno.h>
#include <stdlib.h>

__attribute__((weak)) int gp_uw_table_build(int fd, const char *debug_path,
                                            struct gp_uw_table **out, struct gp_err *err)
{
    (void)fd;
    (void)debug_path;
    *out = NULL;
    return gp_err_set(err, -ENOSYS, "unwind tables are not built yet");
}

__attribute__((weak)) void gp_uw_table_free(struct gp_uw_table *t)
{
    if (t)
        free(t->e);
    free(t);
}

__attribute__((weak)) const struct gp_uw_entry *gp_uw_table_find(const struct gp_uw_table *t,
                                                                 uint64_t pc)
{
    if (!t || !t->n || pc < t->e[0].pc || pc >= t->e[t->n - 1].pc)
        return NULL;
    size_t lo = 0, hi = t->n - 1;
    while (lo + 1 < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->e[mid].pc <= pc)
            lo = mid;
        else
            hi = mid;
    }
    return &t->e[lo];
}
