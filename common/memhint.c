/* memhint.c — page hints for large fresh heap blocks (see memhint.h). */
#include "common/memhint.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size(void)
{
    static size_t page;
    if (!page) {
        long v = sysconf(_SC_PAGESIZE);
        page = v > 0 ? (size_t)v : 4096;
    }
    return page;
}

void gp_mem_populate(void *p, size_t from, size_t to)
{
#ifdef MADV_POPULATE_WRITE
    size_t page = page_size();
    if (!p || to <= from || to - from < 16 * page)
        return;
    uintptr_t a = ((uintptr_t)p + from + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t b = ((uintptr_t)p + to) & ~(uintptr_t)(page - 1);
    if (b > a)
        (void)madvise((void *)a, b - a, MADV_POPULATE_WRITE);
#else
    (void)p, (void)from, (void)to;
#endif
}

void gp_mem_hint_huge(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (!p || len < 2 * huge)
        return;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t b = ((uintptr_t)p + len) & ~(huge - 1);
    if (b > a)
        (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
    (void)p, (void)len;
#endif
}
