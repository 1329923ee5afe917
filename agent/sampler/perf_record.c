/* perf_record.c — parsing one PERF_RECORD_SAMPLE of the perf engine's layout (TID, CALLCHAIN,
 * optionally REGS_USER with BP/SP/IP and STACK_USER), bounds-checked: never past the record. */
#include "agent/sampler/perf_record.h"

#include <asm/perf_regs.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <string.h>

_Static_assert(GP_PERF_REGS_USER_MASK == ((1ULL << PERF_REG_X86_BP) | (1ULL << PERF_REG_X86_SP) |
                                          (1ULL << PERF_REG_X86_IP)),
               "the registers are read in the order BP, SP, IP");

/* A reader over the record that never passes its end. */
struct cursor {
    const uint8_t *p;
    size_t left;
};

static const uint8_t *take(struct cursor *c, uint64_t n)
{
    if (n > c->left)
        return NULL;
    const uint8_t *at = c->p;
    c->p += n;
    c->left -= n;
    return at;
}

static int take_u64(struct cursor *c, uint64_t *v)
{
    const uint8_t *at = take(c, 8);
    if (!at)
        return -1;
    memcpy(v, at, 8);
    return 0;
}

int gp_perf_sample_parse(const uint8_t *rec, size_t size, int with_user, struct gp_perf_sample *out)
{
    memset(out, 0, sizeof(*out));
    if (size < sizeof(struct perf_event_header))
        return -EINVAL;
    struct cursor c = {rec + sizeof(struct perf_event_header),
                       size - sizeof(struct perf_event_header)};
    const uint8_t *ids = take(&c, 8);
    if (!ids || take_u64(&c, &out->nr) || out->nr > c.left / 8)
        return -EINVAL;
    memcpy(&out->pid, ids, 4);
    memcpy(&out->tid, ids + 4, 4);
    out->chain = take(&c, out->nr * 8);
    if (!with_user)
        return 0;
    if (take_u64(&c, &out->abi))
        return -EINVAL;
    if (out->abi != PERF_SAMPLE_REGS_ABI_NONE &&
        (take_u64(&c, &out->bp) || take_u64(&c, &out->sp) || take_u64(&c, &out->ip)))
        return -EINVAL;
    uint64_t ssize, dyn = 0;
    if (take_u64(&c, &ssize))
        return -EINVAL;
    out->stack = take(&c, ssize);
    if (!out->stack || (ssize && take_u64(&c, &dyn)))
        return -EINVAL;
    out->stack_len = dyn < ssize ? dyn : ssize;
    return 0;
}
