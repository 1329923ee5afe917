/* unwind_user.h — the user-space stack walk (x86-64): from the sampled user registers and a copy
 * of the stack, with the unwind tables; the perf sampler's twin of the BPF unwinder. */
#ifndef GPROF_AGENT_UNWIND_UNWIND_USER_H
#define GPROF_AGENT_UNWIND_UNWIND_USER_H

#include <stddef.h>
#include <stdint.h>

#include "agent/unwind/table.h"

/* Why a walk stopped. The BPF unwinder counts the same reasons. */
enum gp_uw_stop {
    GP_UW_STOP_END = 0,        /* reached the end: an END row, or a return address of 0 */
    GP_UW_STOP_NO_TABLE = 1,   /* no row (or a NONE row) and the frame-pointer step failed */
    GP_UW_STOP_UNKNOWN = 2,    /* an UNKNOWN row: a rule the tables do not model */
    GP_UW_STOP_READ_ERROR = 3, /* a read outside the stack copy, or an implausible CFA */
    GP_UW_STOP_DEPTH = 4,      /* the frame limit was reached with callers left */
    GP_UW_STOP_N
};

/* "end" | "no_table" | "unknown_rule" | "read_error" | "depth_limit" */
const char *gp_uw_stop_name(enum gp_uw_stop s);

/* The interrupted user registers. */
struct gp_uw_regs {
    uint64_t ip, sp, bp;
};

/* A copy of len bytes of user stack that lay at address addr (the sampled RSP). */
struct gp_uw_stack_copy {
    const uint8_t *data;
    size_t len;
    uint64_t addr;
};

/* The row in effect at runtime address pc of the sampled process (the callee translates with the
 * load bias and gp_uw_table_find), or NULL when no table covers pc. */
typedef const struct gp_uw_entry *(*gp_uw_lookup_fn)(void *ctx, uint64_t pc);

/* Walks the stack, writing up to max (at most GP_MAX_STACK_DEPTH) instruction pointers to ips,
 * leaf first; returns how many and sets *why. Reads only inside the stack copy. Semantics, the
 * same as the BPF unwinder's (both samplers give the same stacks):
 *  - frame k has pc, sp, bp; frame 0 is the registers. pc is emitted, then its row is looked up
 *    at pc, or at pc - 1 when pc is a return address (every frame but the first and the frame a
 *    signal interrupted: a call may be the last instruction of a function);
 *  - SP / FP / PLT: CFA = sp + off / bp + off / sp + off + ((pc & 15) >= 11 ? 8 : 0); a CFA not
 *    above sp, more than GP_MAX_FRAME_SIZE above it or not 8-aligned is a read error;
 *    ra = [CFA - 8]; bp' = fp_off ? [CFA + fp_off] : bp; sp' = CFA; but a saved-RBP slot below
 *    sp (an epilogue past its `pop %rbp`: GCC keeps the save rule there) was restored already,
 *    so bp' = bp (the copy holds nothing below sp);
 *  - NONE or no row: one frame-pointer step as the BPF sampler's walk: bp must be 8-aligned, at
 *    or above sp and at most GP_MAX_FRAME_SIZE above it, else the walk stops (no_table); then
 *    CFA = bp + 16 with bp saved at CFA - 16;
 *  - SIGNAL: sp points at the ucontext: bp' = [sp + 120], sp' = [sp + 160], pc' = [sp + 168];
 *  - END stops (end), UNKNOWN stops (unknown_rule); a caller pc of 0 stops (end). */
uint32_t gp_uw_walk(const struct gp_uw_regs *regs, const struct gp_uw_stack_copy *stack,
                    gp_uw_lookup_fn lookup, void *ctx, uint64_t *ips, uint32_t max,
                    enum gp_uw_stop *why);

#endif
