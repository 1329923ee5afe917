/* unwind_user.c — the user-space stack walk (x86-64): from the sampled user registers and a copy
 * of the stack, with the unwind tables; the perf sampler's twin of the BPF unwinder. */
#include "agent/unwind/unwind_user.h"

#include <string.h>

#include "bpf/profile.h"

/* x86-64 rt_sigframe: the ucontext's uc_mcontext (struct sigcontext) is at offset 40. */
#define UC_MCONTEXT 40
#define SC_RBP      (UC_MCONTEXT + 80)
#define SC_RSP      (UC_MCONTEXT + 120)
#define SC_RIP      (UC_MCONTEXT + 128)

const char *gp_uw_stop_name(enum gp_uw_stop s)
{
    switch (s) {
    case GP_UW_STOP_END:
        return "end";
    case GP_UW_STOP_NO_TABLE:
        return "no_table";
    case GP_UW_STOP_UNKNOWN:
        return "unknown_rule";
    case GP_UW_STOP_READ_ERROR:
        return "read_error";
    case GP_UW_STOP_DEPTH:
        return "depth_limit";
    default:
        return "?";
    }
}

/* The 8 bytes at user address a, if they lie wholly inside the copy. */
static int read_u64(const struct gp_uw_stack_copy *s, uint64_t a, uint64_t *v)
{
    if (a < s->addr || s->len < 8 || a - s->addr > s->len - 8)
        return -1;
    memcpy(v, s->data + (a - s->addr), 8);
    return 0;
}

uint32_t gp_uw_walk(const struct gp_uw_regs *regs, const struct gp_uw_stack_copy *stack,
                    gp_uw_lookup_fn lookup, void *ctx, uint64_t *ips, uint32_t max,
                    enum gp_uw_stop *why)
{
    uint64_t pc = regs->ip, sp = regs->sp, bp = regs->bp;
    int is_ra = 0; /* pc is a return address: look its row up at pc - 1 */
    uint32_t n = 0;
    if (max > GP_MAX_STACK_DEPTH)
        max = GP_MAX_STACK_DEPTH;
    *why = GP_UW_STOP_DEPTH;
    if (max == 0)
        return 0;
    for (;;) {
        ips[n++] = pc;
        const struct gp_uw_entry *e = lookup ? lookup(ctx, is_ra ? pc - 1 : pc) : NULL;
        uint8_t rule = e ? e->rule.cfa : GP_UW_NONE;
        int16_t off = e ? e->rule.cfa_off : 0, fp_off = e ? e->rule.fp_off : 0;
        /* RBP saved below RSP (an epilogue past its pop: GCC keeps the save rule) was restored
         * already: the register holds it; the copy has nothing below RSP. */
        uint64_t cfa, ra, nbp = bp;
        switch (rule) {
        case GP_UW_CFA_SP:
            cfa = sp + (int64_t)off;
            break;
        case GP_UW_CFA_FP:
            cfa = bp + (int64_t)off;
            break;
        case GP_UW_CFA_PLT:
            cfa = sp + (int64_t)off + ((pc & 15) >= 11 ? 8 : 0);
            break;
        case GP_UW_SIGNAL: {
            uint64_t nsp;
            if (read_u64(stack, sp + SC_RBP, &nbp) || read_u64(stack, sp + SC_RSP, &nsp) ||
                read_u64(stack, sp + SC_RIP, &ra)) {
                *why = GP_UW_STOP_READ_ERROR;
                return n;
            }
            if (ra == 0) {
                *why = GP_UW_STOP_END;
                return n;
            }
            if (n == max)
                return n; /* GP_UW_STOP_DEPTH */
            pc = ra;
            sp = nsp;
            bp = nbp;
            is_ra = 0; /* the interrupted instruction itself, not a return address */
            continue;
        }
        case GP_UW_END:
            *why = GP_UW_STOP_END;
            return n;
        case GP_UW_UNKNOWN:
            *why = GP_UW_STOP_UNKNOWN;
            return n;
        case GP_UW_NONE: /* one frame-pointer step */
            if ((bp & 7) || bp < sp || bp - sp > GP_MAX_FRAME_SIZE) {
                *why = GP_UW_STOP_NO_TABLE;
                return n;
            }
            cfa = bp + 16;
            fp_off = -16;
            break;
        default: /* not a rule of table.h: never guess */
            *why = GP_UW_STOP_UNKNOWN;
            return n;
        }
        if (cfa <= sp || cfa - sp > GP_MAX_FRAME_SIZE || (cfa & 7) ||
            read_u64(stack, cfa - 8, &ra) ||
            (fp_off && cfa + (int64_t)fp_off >= sp &&
             read_u64(stack, cfa + (int64_t)fp_off, &nbp))) {
            *why = GP_UW_STOP_READ_ERROR;
            return n;
        }
        if (ra == 0) {
            *why = GP_UW_STOP_END;
            return n;
        }
        if (n == max)
            return n; /* GP_UW_STOP_DEPTH */
        pc = ra;
        sp = cfa;
        bp = nbp;
        is_ra = 1;
    }
}
