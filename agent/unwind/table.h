/* table.h — a binary's unwind table (x86-64): for each address range of its code, how to find
 * the caller's frame (CFA, return address, saved RBP), built from .eh_frame/.debug_frame CFI. */
#ifndef GPROF_AGENT_UNWIND_TABLE_H
#define GPROF_AGENT_UNWIND_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* How the CFA (the caller's stack pointer after the return) is found. On x86-64 the return
 * address is always at CFA - 8. */
enum gp_uw_cfa {
    GP_UW_CFA_SP = 0,  /* CFA = RSP + cfa_off */
    GP_UW_CFA_FP = 1,  /* CFA = RBP + cfa_off */
    GP_UW_CFA_PLT = 2, /* the PLT's expression: CFA = RSP + cfa_off + ((RIP & 15) >= 11 ? 8 : 0) */
    GP_UW_SIGNAL = 3,  /* a signal trampoline (__restore_rt, CIE augmentation 'S'): RSP points at
                          the ucontext; the caller's RIP/RSP/RBP are read from its mcontext */
    GP_UW_END = 4,     /* outermost frame (return address undefined, e.g. _start): stack ends */
    GP_UW_UNKNOWN = 5, /* a rule we do not model (other expressions, CFA in another register):
                          the walk stops here and counts it, never guesses */
    GP_UW_NONE = 6,    /* no CFI covers this address (gap between FDEs): take one frame-pointer
                          step (CFA = RBP + 16, RBP saved at CFA - 16) */
};

/* The rule of one address range. 6 bytes of meaning; few distinct values per binary. */
struct gp_uw_rule {
    uint8_t cfa; /* enum gp_uw_cfa */
    uint8_t pad;
    int16_t cfa_off; /* bytes; a CFA offset outside int16 makes the row GP_UW_UNKNOWN */
    int16_t fp_off;  /* RBP saved at CFA + fp_off; 0 = RBP unchanged in this frame */
    int16_t pad2;
};

#define GP_UW_F_FUNC_START 1 /* this row starts an FDE (a function): names unnamed frames */

/* One row: the rule in effect from pc up to the next row's pc. pc is an ELF virtual address of
 * the binary (the same space as its symbols: runtime address - load bias). */
struct gp_uw_entry {
    uint64_t pc;
    struct gp_uw_rule rule;
    uint8_t flags; /* GP_UW_F_* */
};

struct gp_uw_table_stats {
    uint64_t fdes;         /* FDEs read */
    uint64_t rows;         /* rows in the table (after merging equal neighbours) */
    uint64_t unknown_rows; /* rows whose rule is GP_UW_UNKNOWN */
    uint64_t build_ns;     /* CPU time to build */
    int source;            /* 0 none, 1 .eh_frame, 2 .debug_frame of a separate debug file,
                              3 .debug_frame of the binary itself (built without .eh_frame) */
};

struct gp_uw_table {
    struct gp_uw_entry *e; /* sorted by pc, strictly increasing; the last row ends the code
                              (its rule is GP_UW_NONE past the last FDE) */
    size_t n;
    struct gp_uw_table_stats stats;
};

/* Builds the table of the ELF file open on fd (not consumed). debug_path: a separate debug file
 * to read .debug_frame from when the binary has no .eh_frame, or NULL. A binary without any CFI
 * is not an error: *out gets an empty table (n == 0). Garbage is -EINVAL with a message naming
 * the section and offset; never a crash. */
int gp_uw_table_build(int fd, const char *debug_path, struct gp_uw_table **out, struct gp_err *err);
void gp_uw_table_free(struct gp_uw_table *t);

/* The code range of one FDE (one function). */
struct gp_uw_range {
    uint64_t start, end; /* ELF virtual addresses, end exclusive */
};
/* Only the FDE ranges of the binary (from the same CFI gp_uw_table_build reads), sorted by start,
 * without overlaps (the first FDE wins, as in the table): far cheaper than a table, no CFA
 * rules interpreted. For naming frames without a symbol. *out is malloc'd (NULL when n == 0). */
int gp_uw_fde_ranges(int fd, const char *debug_path, struct gp_uw_range **out, size_t *n,
                     struct gp_err *err);
/* The row in effect at ELF virtual address pc, or NULL when pc is outside the table. */
const struct gp_uw_entry *gp_uw_table_find(const struct gp_uw_table *t, uint64_t pc);
/* Start of the function (FDE) holding pc: 0 and *start, or -ENOENT. */
int gp_uw_table_func_start(const struct gp_uw_table *t, uint64_t pc, uint64_t *start);

#endif
