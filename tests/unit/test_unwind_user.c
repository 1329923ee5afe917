/* test_unwind_user.c — the user-space stack walk (agent/unwind/unwind_user.c) on hand-built
 * tables and hand-built stack images: every rule of table.h (SP, FP, PLT, SIGNAL, END, UNKNOWN,
 * NONE, no table), pc - 1 for return addresses, and every stop reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agent/unwind/unwind_user.h"
#include "bpf/profile.h"

/* ---- a fake process: rows by runtime address (no bias) and a stack image ---- */

#define STACK_ADDR  0x7ffc00001000ULL /* where the copy starts (the sampled RSP) */
#define STACK_WORDS 512

struct proc {
    struct gp_uw_entry rows[16];
    int nrows;
    uint64_t table_lo, table_hi; /* addresses outside [lo, hi) have no table */
    uint64_t stack[STACK_WORDS];
    size_t stack_len; /* bytes of the copy; default all */
    int lookups;
};

static void row(struct proc *p, uint64_t pc, uint8_t cfa, int16_t off, int16_t fp_off)
{
    struct gp_uw_entry *e = &p->rows[p->nrows++];
    memset(e, 0, sizeof(*e));
    e->pc = pc;
    e->rule.cfa = cfa;
    e->rule.cfa_off = off;
    e->rule.fp_off = fp_off;
}

/* The row in effect at pc: the last row at or below it (rows are added in address order). */
static const struct gp_uw_entry *lookup(void *ctx, uint64_t pc)
{
    struct proc *p = ctx;
    p->lookups++;
    if (pc < p->table_lo || pc >= p->table_hi)
        return NULL;
    const struct gp_uw_entry *found = NULL;
    for (int i = 0; i < p->nrows; i++)
        if (p->rows[i].pc <= pc)
            found = &p->rows[i];
    return found;
}

static void put(struct proc *p, uint64_t addr, uint64_t v)
{
    assert_true(addr >= STACK_ADDR && addr + 8 <= STACK_ADDR + sizeof(p->stack));
    memcpy((uint8_t *)p->stack + (addr - STACK_ADDR), &v, 8);
}

static uint32_t walk(struct proc *p, uint64_t ip, uint64_t sp, uint64_t bp, uint64_t *ips,
                     uint32_t max, enum gp_uw_stop *why)
{
    struct gp_uw_regs r = {.ip = ip, .sp = sp, .bp = bp};
    struct gp_uw_stack_copy s = {.data = (const uint8_t *)p->stack,
                                 .len = p->stack_len ? p->stack_len : sizeof(p->stack),
                                 .addr = STACK_ADDR};
    return gp_uw_walk(&r, &s, p->table_hi ? lookup : NULL, p, ips, max, why);
}

static struct proc *new_proc(void)
{
    static struct proc p;
    memset(&p, 0, sizeof(p));
    p.table_lo = 0x1000;
    p.table_hi = 0x100000;
    return &p;
}

/* Functions of the fake binary: a at 0x1000, b at 0x2000, c at 0x3000, main at 0x4000,
 * start at 0x5000 (END), a PLT at 0x6000, __restore_rt at 0x7000, unknown code at 0x8000. */

/* ---- CFA rules ---- */

/* leaf a after `push rbp` (CFA = RSP + 16, RBP at CFA - 16) -> b frameless (CFA = RSP + 32)
 * -> main (CFA = RBP + 16, RBP at CFA - 16) -> start (END). */
static void sp_and_fp_rules(void **state)
{
    (void)state;
    struct proc *p = new_proc();
    row(p, 0x1000, GP_UW_CFA_SP, 8, 0);
    row(p, 0x1001, GP_UW_CFA_SP, 16, -16);
    row(p, 0x1100, GP_UW_CFA_SP, 8, 0);
    row(p, 0x2000, GP_UW_CFA_SP, 32, 0);
    row(p, 0x4000, GP_UW_CFA_FP, 16, -16);
    row(p, 0x5000, GP_UW_END, 0, 0);
    row(p, 0x6000, GP_UW_NONE, 0, 0);
    uint64_t sp = STACK_ADDR;
    uint64_t main_bp = STACK_ADDR + 0x200;
    /* a: [sp] saved rbp of main, [sp+8] ra into b; CFA = sp + 16 */
    put(p, sp, main_bp);
    put(p, sp + 8, 0x2040);
    /* b: CFA = (sp + 16) + 32; ra at CFA - 8 */
    put(p, sp + 16 + 24, 0x4050);
    /* main: CFA = main_bp + 16: saved rbp at main_bp, ra at main_bp + 8 */
    put(p, main_bp, 0);
    put(p, main_bp + 8, 0x5010);
    uint64_t ips[GP_MAX_STACK_DEPTH];
    enum gp_uw_stop why;
    /* bp in the leaf is garbage: a's rule restores it from the stack */
    uint32_t n = walk(p, 0x1010, sp, 0xdead, ips, GP_MAX_STACK_DEPTH, &why);
    assert_int_equal(n, 4);
    assert_int_equal(ips[0], 0x1010);
    assert_int_equal(ips[1], 0x2040);
    assert_int_equal(ips[2], 0x4050);
    assert_int_equal(ips[3], 0x5010);
    assert_int_equal(why, GP_UW_STOP_END);
}

/* fp_off 0 keeps RBP: a frameless leaf (CFA = RSP + 8) passes the caller's RBP to an FP-rule
 * caller. */
static void fp_unchanged(void **state)
{
    (void)state;
    struct proc *p = new_proc();
    row(p, 0x1000, GP_UW_CFA_SP, 8, 0);
    row(p, 0x4000, GP_UW_CFA_FP, 16, -16);
    row(p, 0x5000, GP_UW_END, 0, 0);
    uint64_t sp = STACK_ADDR + 0x40, bp = STACK_ADDR + 0x100;
    put(p, sp, 0x4020);     /* ra of the leaf */
    put(p, bp, 0);          /* main's caller's rbp */
    put(p, bp + 8, 0x5008); /* ra of main */
    uint64_t ips[8];
    enum gp_uw_stop why;
    assert_int_equal(walk(p, 0x1080, sp, bp, ips, 8, &why), 3);
    assert_int_equal(ips[1], 0x4020);
    assert_int_equal(ips[2], 0x5008);
    assert_int_equal(why, GP_UW_STOP_END);
}

/* In an epilogue past `pop %rbp` GCC keeps "RBP saved at CFA - 40" while the CFA is RSP + 8:
 * the slot is below RSP, outside the copy, and RBP holds the restored value already. */
static void epilogue_rbp_below_sp(void **state)
{
    (void)state;
    struct proc *p = new_proc();
    row(p, 0x1000, GP_UW_CFA_SP, 8, -40); /* the epilogue's last rows */
    row(p, 0x4000, GP_UW_CFA_FP, 16, -16);
    row(p, 0x5000, GP_UW_END, 0, 0);
    uint64_t sp = STACK_ADDR + 0x40, bp = STACK_ADDR + 0x100;
    put(p, sp, 0x4020); /* ra of the leaf */
    put(p, bp, 0);
    put(p, bp + 8, 0x5008);
    struct gp_uw_regs r = {.ip = 0x1080, .sp = sp, .bp = bp};
    struct gp_uw_stack_copy s = {.data = (const uint8_t *)p->stack + 0x40,
                                 .len = sizeof(p->stack) - 0x40,
                                 .addr = sp}; /* the copy starts at RSP */
    uint64_t ips[8];
    enum gp_uw_stop why;
    assert_int_equal(gp_uw_walk(&r, &s, lookup, p, ips, 8, &why), 3);
    assert_int_equal(ips[1], 0x4020);
    assert_int_equal(ips[2], 0x5008);
    assert_int_equal(why, GP_UW_STOP_END);
}

/* A return address is looked up at pc - 1: a call that is the last instruction of a function
 * returns to the first byte of the next one, whose rule would be wrong. The leaf is looked up at
 * pc itself. */
static void return_address_minus_one(void **state)
{
    (void)state;
    struct proc *p = new_proc();
    row(p, 0x1000, GP_UW_CFA_SP, 8, 0);  /* leaf */
    row(p, 0x2000, GP_UW_CFA_SP, 16, 0); /* caller: the call is its last instruction */
    row(p, 0x2100, GP_UW_UNKNOWN, 0, 0); /* the next function starts at the return address */
    row(p, 0x2200, GP_UW_END, 0, 0);     /* the caller's caller */
    uint64_t sp = STACK_ADDR;
    put(p, sp, 0x2100);         /* leaf's ra: the first byte after the caller */
    put(p, sp + 8 + 8, 0x2208); /* caller: CFA = sp + 8 + 16 */
    uint64_t ips[8];
    enum gp_uw_stop why;
    uint32_t n = walk(p, 0x1000, sp, 0, ips, 8, &why);
    assert_int_equal(n, 3);
    assert_int_equal(ips[1], 0x2100);
    assert_int_equal(ips[2], 0x2208);
    assert_int_equal(why, GP_UW_STOP_END);

    /* the leaf at the first byte of the UNKNOWN function: looked up at pc, so it stops */
    n = walk(p, 0x2100, sp, 0, ips, 8, &why);
    assert_int_equal(n, 1);
    assert_int_equal(why, GP_UW_STOP_UNKNOWN);
}

/* The PLT: CFA = RSP + off, 8 more once the stub's push happened ((RIP & 15) >= 11). */
static void plt_rule(void **state)
{
    (void)state;
    struct proc *p = new_proc();
    row(p, 0x5000, GP_UW_END, 0, 0);
    row(p, 0x6000, GP_UW_CFA_PLT, 8, 0);
    row(p, 0x7000, GP_UW_END, 0, 0);
    uint64_t sp = STACK_ADDR;
    put(p, sp, 0x5001);     /* ra when CFA = sp + 8 */
    put(p, sp + 8, 0x5002); /* ra when CFA = sp + 16 */
    uint64_t ips[8];
    enum gp_uw_stop why;
    assert_int_equal(walk(p, 0x6020 + 10, sp, 0, ips, 8, &why), 2);
    assert_int_equal(ips[1], 0x5001);
    assert_int_equal(walk(p, 0x6020 + 11, sp, 0, ips, 8, &why), 2);
    assert_int_equal(ips[1], 0x5002);
    assert_int_equal(walk(p, 0x6020 + 15, sp, 0, ips, 8, &why), 2);
    assert_int_equal(ips[1], 0x5002);
    assert_int_equal(why, GP_UW_STOP_END);
}

/* A signal handler returns into __restore_rt, whose RSP points at the ucontext: the interrupted
 * RIP/RSP/RBP come from its mcontext, and the interrupted RIP is not a return address (looked up
 * at pc: its pc - 1 row would be UNKNOWN). */
static void signal_frame(void **state)
{
    (void)state;
    struct proc *p = new_proc();
    row(p, 0x1000, GP_UW_CFA_SP, 8, 0);    /* the handler, frameless */
    row(p, 0x2000, GP_UW_UNKNOWN, 0, 0);   /* just before the interrupted pc */
    row(p, 0x2010, GP_UW_CFA_FP, 16, -16); /* the interrupted function, FP rule */
    row(p, 0x5000, GP_UW_END, 0, 0);
    row(p, 0x6fff, GP_UW_SIGNAL, 0, 0); /* the nop before __restore_rt, and __restore_rt */
    row(p, 0x7010, GP_UW_NONE, 0, 0);
    uint64_t sp = STACK_ADDR;
    put(p, sp, 0x7000); /* the handler's return address: __restore_rt */
    uint64_t uc = sp + 8, isp = STACK_ADDR + 0x600, ibp = STACK_ADDR + 0x700;
    put(p, uc + 40 + 80, ibp);
    put(p, uc + 40 + 120, isp);
    put(p, uc + 40 + 128, 0x2010);
    put(p, ibp, 0);
    put(p, ibp + 8, 0x5004);
    uint64_t ips[8];
    enum gp_uw_stop why;
    uint32_t n = walk(p, 0x1004, sp, 0, ips, 8, &why);
    assert_int_equal(n, 4);
    assert_int_equal(ips[0], 0x1004);
    assert_int_equal(ips[1], 0x7000);
    assert_int_equal(ips[2], 0x2010);
    assert_int_equal(ips[3], 0x5004);
    assert_int_equal(why, GP_UW_STOP_END);

    /* the mcontext beyond the copy: a read error */
    p->stack_len = 8 + 40 + 128; /* rip's 8 bytes left out */
    n = walk(p, 0x1004, sp, 0, ips, 8, &why);
    assert_int_equal(n, 2);
    assert_int_equal(why, GP_UW_STOP_READ_ERROR);

    /* an interrupted RIP of 0 ends the stack */
    p->stack_len = 0;
    put(p, uc + 40 + 128, 0);
    n = walk(p, 0x1004, sp, 0, ips, 8, &why);
    assert_int_equal(n, 2);
    assert_int_equal(why, GP_UW_STOP_END);
}

static void end_and_unknown(void **state)
{
    (void)state;
    struct proc *p = new_proc();
    row(p, 0x5000, GP_UW_END, 0, 0);
    row(p, 0x8000, GP_UW_UNKNOWN, 0, 0);
    row(p, 0x9000, 99, 0, 0); /* not a rule of table.h */
    uint64_t ips[8];
    enum gp_uw_stop why;
    assert_int_equal(walk(p, 0x5000, STACK_ADDR, 0, ips, 8, &why), 1);
    assert_int_equal(why, GP_UW_STOP_END);
    assert_int_equal(walk(p, 0x8004, STACK_ADDR, 0, ips, 8, &why), 1);
    assert_int_equal(why, GP_UW_STOP_UNKNOWN);
    assert_int_equal(walk(p, 0x9004, STACK_ADDR, 0, ips, 8, &why), 1);
    assert_int_equal(why, GP_UW_STOP_UNKNOWN);
}

/* ---- frame pointers: NONE rows and addresses no table covers ---- */

/* An FP binary (no table) calls a no-FP library (table) calls back into the FP binary: the
 * NONE row, the no-table address and the CFI rule mix in one stack, ending where the outermost
 * saved RBP is 0 (the FP step fails: no_table). */
static void mixed_fp_and_cfi(void **state)
{
    (void)state;
    struct proc *p = new_proc();
    p->table_lo = 0x1000; /* the library: 0x1000..0x3000; the FP binary above 0x100000 */
    p->table_hi = 0x3000;
    row(p, 0x1000, GP_UW_CFA_SP, 24, 0); /* library function, frameless, 16 bytes of locals */
    row(p, 0x2000, GP_UW_NONE, 0, 0);    /* a gap between FDEs */
    uint64_t sp = STACK_ADDR;
    uint64_t bp1 = STACK_ADDR + 0x80, bp2 = STACK_ADDR + 0x100, bp3 = STACK_ADDR + 0x180;
    /* leaf: FP callback 0x200010 with rbp = bp1 */
    put(p, bp1, bp2);
    put(p, bp1 + 8, 0x1040); /* returns into the library */
    /* library frame: sp = bp1 + 16, CFA = sp + 24, RBP unchanged (bp2) */
    put(p, bp1 + 16 + 16, 0x2008); /* returns into the NONE gap */
    /* gap frame: FP step from bp2 */
    put(p, bp2, bp3);
    put(p, bp2 + 8, 0x300020); /* the FP binary's main */
    put(p, bp3, 0);
    put(p, bp3 + 8, 0x300100); /* main's caller */
    uint64_t ips[16];
    enum gp_uw_stop why;
    uint32_t n = walk(p, 0x200010, sp, bp1, ips, 16, &why);
    assert_int_equal(n, 5);
    assert_int_equal(ips[0], 0x200010);
    assert_int_equal(ips[1], 0x1040);
    assert_int_equal(ips[2], 0x2008);
    assert_int_equal(ips[3], 0x300020);
    assert_int_equal(ips[4], 0x300100);
    assert_int_equal(why, GP_UW_STOP_NO_TABLE); /* the outermost rbp is 0 */
}

/* Without any lookup callback (no tables at all) the walk is a frame-pointer walk. */
static void no_lookup_is_fp_walk(void **state)
{
    (void)state;
    struct proc *p = new_proc();
    p->table_hi = 0; /* walk() passes no callback */
    uint64_t bp = STACK_ADDR + 0x10;
    for (int i = 0; i < 5; i++) {
        put(p, bp, i < 4 ? bp + 0x20 : 0);
        put(p, bp + 8, 0x400000 + i);
        bp += 0x20;
    }
    uint64_t ips[16];
    enum gp_uw_stop why;
    uint32_t n = walk(p, 0x1234, STACK_ADDR, STACK_ADDR + 0x10, ips, 16, &why);
    assert_int_equal(n, 6);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ips[i + 1], 0x400000 + i);
    assert_int_equal(why, GP_UW_STOP_NO_TABLE);
}

/* The FP step refuses an RBP that is misaligned, below RSP or implausibly far above it. */
static void fp_step_refusals(void **state)
{
    (void)state;
    struct proc *p = new_proc();
    p->table_hi = 0;
    uint64_t ips[4];
    enum gp_uw_stop why;
    uint64_t bad[] = {STACK_ADDR + 0x14, STACK_ADDR - 0x10, STACK_ADDR + GP_MAX_FRAME_SIZE + 8};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(walk(p, 0x1234, STACK_ADDR, bad[i], ips, 4, &why), 1);
        assert_int_equal(why, GP_UW_STOP_NO_TABLE);
    }
    /* in range but beyond the copy: a read error */
    assert_int_equal(walk(p, 0x1234, STACK_ADDR, STACK_ADDR + sizeof(p->stack), ips, 4, &why), 1);
    assert_int_equal(why, GP_UW_STOP_READ_ERROR);
}

/* ---- reads stay inside the copy ---- */

static void read_errors(void **state)
{
    (void)state;
    struct proc *p = new_proc();
    row(p, 0x1000, GP_UW_CFA_SP, 16, -16);
    row(p, 0x2000, GP_UW_CFA_SP, -8, 0); /* CFA below RSP */
    row(p, 0x3000, GP_UW_CFA_SP, 0, 0);  /* CFA = RSP: ra would be below the copy */
    row(p, 0x4000, GP_UW_CFA_FP, 16, -16);
    uint64_t ips[4];
    enum gp_uw_stop why;
    /* the return address straddles the end of the copy */
    p->stack_len = 12;
    put(p, STACK_ADDR + 8, 0x1111);
    assert_int_equal(walk(p, 0x1000, STACK_ADDR, 0, ips, 4, &why), 1);
    assert_int_equal(why, GP_UW_STOP_READ_ERROR);
    /* exactly inside: the ra and the saved rbp are read; the next frame's are beyond */
    p->stack_len = 16;
    put(p, STACK_ADDR, 0);
    assert_int_equal(walk(p, 0x1000, STACK_ADDR, 0, ips, 4, &why), 2);
    assert_int_equal(ips[1], 0x1111);
    assert_int_equal(why, GP_UW_STOP_READ_ERROR);
    /* an empty copy */
    p->stack_len = 0;
    struct gp_uw_regs r = {.ip = 0x1000, .sp = STACK_ADDR, .bp = 0};
    struct gp_uw_stack_copy s = {.data = (const uint8_t *)p->stack, .len = 0, .addr = STACK_ADDR};
    assert_int_equal(gp_uw_walk(&r, &s, lookup, p, ips, 4, &why), 1);
    assert_int_equal(why, GP_UW_STOP_READ_ERROR);
    /* CFA not above RSP */
    assert_int_equal(walk(p, 0x2000, STACK_ADDR + 0x40, 0, ips, 4, &why), 1);
    assert_int_equal(why, GP_UW_STOP_READ_ERROR);
    assert_int_equal(walk(p, 0x3000, STACK_ADDR + 0x40, 0, ips, 4, &why), 1);
    assert_int_equal(why, GP_UW_STOP_READ_ERROR);
    /* a CFA not 8-aligned, or implausibly far above RSP (as the BPF unwinder refuses them) */
    row(p, 0x5000, GP_UW_CFA_SP, 12, 0);
    row(p, 0x6000, GP_UW_CFA_FP, 16, 0);
    assert_int_equal(walk(p, 0x5000, STACK_ADDR, 0, ips, 4, &why), 1);
    assert_int_equal(why, GP_UW_STOP_READ_ERROR);
    assert_int_equal(walk(p, 0x6000, STACK_ADDR, STACK_ADDR + GP_MAX_FRAME_SIZE, ips, 4, &why), 1);
    assert_int_equal(why, GP_UW_STOP_READ_ERROR);
    /* an FP rule with a wild RBP (also near the top of the address space: no wrap-around) */
    assert_int_equal(walk(p, 0x4000, STACK_ADDR, 0x10, ips, 4, &why), 1);
    assert_int_equal(why, GP_UW_STOP_READ_ERROR);
    assert_int_equal(walk(p, 0x4000, STACK_ADDR, UINT64_MAX - 7, ips, 4, &why), 1);
    assert_int_equal(why, GP_UW_STOP_READ_ERROR);
}

/* A return address of 0 ends the stack (what thread start routines leave). */
static void zero_return_address(void **state)
{
    (void)state;
    struct proc *p = new_proc();
    row(p, 0x1000, GP_UW_CFA_SP, 8, 0);
    put(p, STACK_ADDR, 0);
    uint64_t ips[4];
    enum gp_uw_stop why;
    assert_int_equal(walk(p, 0x1000, STACK_ADDR, 0, ips, 4, &why), 1);
    assert_int_equal(why, GP_UW_STOP_END);
}

/* ---- depth ---- */

/* A recursion deeper than the limit stops at max frames with depth_limit; a stack of exactly max
 * frames that ends there is "end". */
static void depth_limit(void **state)
{
    (void)state;
    struct proc *p = new_proc();
    row(p, 0x1000, GP_UW_CFA_SP, 16, 0); /* recursive function: ra at CFA - 8 */
    row(p, 0x5000, GP_UW_END, 0, 0);
    for (int i = 0; i < 200; i++)
        put(p, STACK_ADDR + 16 * i + 8, 0x1040);
    uint64_t ips[GP_MAX_STACK_DEPTH + 8];
    enum gp_uw_stop why;
    assert_int_equal(walk(p, 0x1010, STACK_ADDR, 0, ips, 1000, &why), GP_MAX_STACK_DEPTH);
    assert_int_equal(why, GP_UW_STOP_DEPTH);
    assert_int_equal(walk(p, 0x1010, STACK_ADDR, 0, ips, 5, &why), 5);
    assert_int_equal(why, GP_UW_STOP_DEPTH);
    assert_int_equal(walk(p, 0x1010, STACK_ADDR, 0, ips, 0, &why), 0);
    /* the 127th frame is the END one */
    put(p, STACK_ADDR + 16 * (GP_MAX_STACK_DEPTH - 2) + 8, 0x5001);
    assert_int_equal(walk(p, 0x1010, STACK_ADDR, 0, ips, GP_MAX_STACK_DEPTH, &why),
                     GP_MAX_STACK_DEPTH);
    assert_int_equal(ips[GP_MAX_STACK_DEPTH - 1], 0x5001);
    assert_int_equal(why, GP_UW_STOP_END);
}

static void stop_names(void **state)
{
    (void)state;
    assert_string_equal(gp_uw_stop_name(GP_UW_STOP_END), "end");
    assert_string_equal(gp_uw_stop_name(GP_UW_STOP_NO_TABLE), "no_table");
    assert_string_equal(gp_uw_stop_name(GP_UW_STOP_UNKNOWN), "unknown_rule");
    assert_string_equal(gp_uw_stop_name(GP_UW_STOP_READ_ERROR), "read_error");
    assert_string_equal(gp_uw_stop_name(GP_UW_STOP_DEPTH), "depth_limit");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(sp_and_fp_rules),
            cmocka_unit_test(fp_unchanged),
            cmocka_unit_test(epilogue_rbp_below_sp),
            cmocka_unit_test(return_address_minus_one),
            cmocka_unit_test(plt_rule),
            cmocka_unit_test(signal_frame),
            cmocka_unit_test(end_and_unknown),
            cmocka_unit_test(mixed_fp_and_cfi),
            cmocka_unit_test(no_lookup_is_fp_walk),
            cmocka_unit_test(fp_step_refusals),
            cmocka_unit_test(read_errors),
            cmocka_unit_test(zero_return_address),
            cmocka_unit_test(depth_limit),
            cmocka_unit_test(stop_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
