/* funcstarts.c — function starts from CFI for naming frames without a symbol (see
 * funcstarts.h). */
#include "agent/symbols/funcstarts.h"
#include "agent/unwind/table.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>

#define FULL_SYMBOLS (GP_SRC_SYMTAB | GP_SRC_DEBUG_BUILDID | GP_SRC_DEBUGLINK | GP_SRC_MINIDEBUG)

void gp_funcstarts_load(struct gp_elfsyms *e, int fd)
{
    if (e->sources & FULL_SYMBOLS)
        return;
    struct gp_err err = {0};
    struct gp_uw_range *r = NULL;
    size_t n = 0;
    if (gp_uw_fde_ranges(fd, NULL, &r, &n, &err) < 0) {
        gp_debug("symbols: no function starts from CFI: %s", err.msg);
        return;
    }
    e->fdes = r;
    e->nfdes = n;
    e->bytes += n * sizeof(*r);
}

int gp_funcstarts_offset(const struct gp_elfsyms *e, uint64_t vaddr, uint64_t *file_off)
{
    size_t lo = 0, hi = e->nfdes; /* first range starting after vaddr */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->fdes[mid].start <= vaddr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || vaddr >= e->fdes[lo - 1].end)
        return -ENOENT;
    uint64_t start = e->fdes[lo - 1].start;
    for (size_t i = 0; i < e->nloads; i++) {
        const struct gp_elf_load *l = &e->loads[i];
        if (start >= l->vaddr && start - l->vaddr < l->filesz) {
            *file_off = start - l->vaddr + l->off;
            return 0;
        }
    }
    return -ENOENT;
}
