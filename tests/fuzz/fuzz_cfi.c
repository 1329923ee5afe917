/* fuzz_cfi.c — the CFI parser and unwind-table builder the root agent runs on users' binaries
 * (agent/unwind/cfi.c, table.c). The first byte picks the entry: raw .eh_frame bytes at a fake
 * address (bit 0-1 = 0), raw .debug_frame (1), an .eh_frame_hdr + .eh_frame pair split at the
 * 16-bit length that follows (2), or a whole ELF through a memfd, with itself as the separate
 * debug file when bit 2 is set (3), also read for its FDE ranges only. Never a crash, leak, UB or
 * hang; a built table is sorted, strictly increasing, ends with a GP_UW_NONE row, and every row is
 * found by its own pc. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/unwind/cfi.h"
#include "agent/unwind/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAKE_ADDR 0x10000u
#define HDR_ADDR  0x8000u

struct image {
    const uint8_t *p;
    size_t n;
};

/* DW_EH_PE_indirect reads from the input itself, mapped at FAKE_ADDR. */
static int read_u64(void *ctx, uint64_t vaddr, uint64_t *out)
{
    const struct image *im = ctx;
    if (vaddr < FAKE_ADDR || vaddr - FAKE_ADDR > im->n || im->n - (vaddr - FAKE_ADDR) < 8)
        return -1;
    memcpy(out, im->p + (vaddr - FAKE_ADDR), 8);
    return 0;
}

static void check(const struct gp_uw_table *t)
{
    if (t->n != t->stats.rows)
        abort();
    uint64_t unknown = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct gp_uw_entry *e = &t->e[i];
        if ((i && t->e[i - 1].pc >= e->pc) || e->rule.cfa > GP_UW_NONE ||
            (e->flags & ~GP_UW_F_FUNC_START) || gp_uw_table_find(t, e->pc) != e)
            abort();
        unknown += e->rule.cfa == GP_UW_UNKNOWN;
        uint64_t start;
        if (gp_uw_table_func_start(t, e->pc, &start) == 0 && start > e->pc)
            abort();
    }
    if (unknown != t->stats.unknown_rows)
        abort();
    if (t->n && (t->e[t->n - 1].rule.cfa != GP_UW_NONE ||
                 (gp_uw_table_find(t, 0) != NULL) != (t->e[0].pc == 0) ||
                 gp_uw_table_find(t, UINT64_MAX) != &t->e[t->n - 1]))
        abort();
}

static void raw(const uint8_t *p, size_t n, int debug_frame, const uint8_t *hdr, size_t hn)
{
    struct image im = {p, n};
    struct gp_cfi_section s = {.data = p,
                               .size = n,
                               .addr = FAKE_ADDR,
                               .data_base = FAKE_ADDR + 0x1000,
                               .debug_frame = debug_frame,
                               .name = debug_frame ? ".debug_frame" : ".eh_frame",
                               .read_u64 = read_u64,
                               .read_ctx = &im};
    struct gp_cfi_section h = {.data = hdr,
                               .size = hn,
                               .addr = HDR_ADDR,
                               .data_base = HDR_ADDR,
                               .name = ".eh_frame_hdr"};
    struct gp_uw_table t = {0};
    struct gp_err err = {0};
    if (gp_cfi_build(&s, hdr ? &h : NULL, &t, &err) == 0) {
        check(&t);
        free(t.e);
    } else if (err.msg[0] == '\0' || t.e || t.n) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] & 3) {
    case 0:
    case 1:
        raw(p, n, data[0] & 1, NULL, 0);
        break;
    case 2: {
        if (n < 2)
            return 0;
        size_t hn = (size_t)p[0] | (size_t)p[1] << 8;
        p += 2;
        n -= 2;
        if (hn > n)
            hn = n;
        raw(p + hn, n - hn, 0, p, hn);
        break;
    }
    default: {
        int fd = memfd_create("fuzz_cfi", MFD_CLOEXEC);
        if (fd < 0)
            return 0;
        if (write(fd, p, n) == (ssize_t)n) {
            char dbg[64];
            snprintf(dbg, sizeof(dbg), "/proc/self/fd/%d", fd);
            struct gp_uw_table *t = NULL;
            struct gp_err err = {0};
            if (gp_uw_table_build(fd, data[0] & 4 ? dbg : NULL, &t, &err) == 0) {
                check(t);
                gp_uw_table_free(t);
            } else if (err.msg[0] == '\0' || t) {
                abort();
            }
            struct gp_uw_range *r = NULL;
            size_t nr = 0;
            if (gp_uw_fde_ranges(fd, NULL, &r, &nr, &err) == 0) {
                for (size_t i = 0; i < nr; i++)
                    if (r[i].start >= r[i].end || (i && r[i - 1].end > r[i].start))
                        abort();
                free(r);
            } else if (r || nr) {
                abort();
            }
        }
        close(fd);
        break;
    }
    }
    return 0;
}
