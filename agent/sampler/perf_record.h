/* perf_record.h — parsing one PERF_RECORD_SAMPLE of the perf engine's layout (TID, CALLCHAIN,
 * optionally REGS_USER with BP/SP/IP and STACK_USER), bounds-checked: never past the record. */
#ifndef GPROF_AGENT_SAMPLER_PERF_RECORD_H
#define GPROF_AGENT_SAMPLER_PERF_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* The user registers the perf engine asks for (PERF_SAMPLE_REGS_USER), in the record's order. */
#define GP_PERF_REGS_USER_MASK ((1ULL << 6) | (1ULL << 7) | (1ULL << 8)) /* BP, SP, IP (x86) */

struct gp_perf_sample {
    uint32_t pid, tid;
    const uint8_t *chain; /* nr u64s, unaligned */
    uint64_t nr;
    /* with user regs + stack: */
    uint64_t abi;         /* PERF_SAMPLE_REGS_ABI_*; NONE: no user context, regs are 0 */
    uint64_t bp, sp, ip;  /* user registers */
    const uint8_t *stack; /* the user stack from sp on: stack_len valid bytes (dyn_size) */
    uint64_t stack_len;
};

/* Parses the sample record rec (header included) of size bytes; with_user: the record carries
 * REGS_USER (GP_PERF_REGS_USER_MASK) and STACK_USER. Pointers in *out point into rec. Returns 0,
 * or -EINVAL when the record is shorter than what it announces. */
int gp_perf_sample_parse(const uint8_t *rec, size_t size, int with_user,
                         struct gp_perf_sample *out);

#endif
