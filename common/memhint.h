/* memhint.h — page hints for large fresh heap blocks: their pages mapped in one call, or backed
 * by transparent huge pages, instead of one page fault per 4 KiB page (costly on VMs). */
#ifndef GPROF_COMMON_MEMHINT_H
#define GPROF_COMMON_MEMHINT_H

#include <stddef.h>

/* Maps the pages of [p + from, p + to) now (MADV_POPULATE_WRITE), for a block about to be filled
 * from its start. Best effort: below 16 pages, or where the kernel lacks it, pages fault as
 * before. */
void gp_mem_populate(void *p, size_t from, size_t to);

/* Asks for transparent huge pages over the 2 MiB-aligned part of [p, p + len) (MADV_HUGEPAGE;
 * honoured when /sys/kernel/mm/transparent_hugepage/enabled is always or madvise): a block of
 * megabytes filled densely then faults once per 2 MiB. Best effort; a no-op below 4 MiB, where
 * the aligned part would be small against what a huge page zeroes. */
void gp_mem_hint_huge(void *p, size_t len);

#endif
