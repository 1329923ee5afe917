/* counters.c — the agent's profiling counters (see counters.h). */
#include "agent/counters.h"

#include <stdatomic.h>

const char *const gp_counter_drop_names[GP_DROP_N] = {"user_stack", "kernel_stack", "map_full",
                                                      "ring_lost",  "events_lost",  "malformed"};

static atomic_uint_fast64_t sessions, samples, frames, unresolved, drops[GP_DROP_N];

static void add(atomic_uint_fast64_t *c, uint64_t now, uint64_t last)
{
    if (now > last)
        atomic_fetch_add_explicit(c, now - last, memory_order_relaxed);
}

void gp_counters_add_run(uint64_t n, const struct gp_counter_snap *now,
                         struct gp_counter_snap *last)
{
    atomic_fetch_add_explicit(&sessions, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&samples, n, memory_order_relaxed);
    add(&frames, now->frames, last->frames);
    add(&unresolved, now->unresolved, last->unresolved);
    add(&drops[GP_DROP_USER_STACK], now->st.user_stack_errors, last->st.user_stack_errors);
    add(&drops[GP_DROP_KERNEL_STACK], now->st.kernel_stack_errors, last->st.kernel_stack_errors);
    add(&drops[GP_DROP_MAP_FULL], now->st.map_full, last->st.map_full);
    add(&drops[GP_DROP_RING_LOST], now->st.lost, last->st.lost);
    add(&drops[GP_DROP_EVENTS_LOST], now->st.events_lost, last->st.events_lost);
    add(&drops[GP_DROP_MALFORMED], now->st.malformed, last->st.malformed);
    *last = *now;
}

void gp_counters_read(struct gp_counters_view *o)
{
    o->sessions = atomic_load_explicit(&sessions, memory_order_relaxed);
    o->samples = atomic_load_explicit(&samples, memory_order_relaxed);
    o->frames = atomic_load_explicit(&frames, memory_order_relaxed);
    o->unresolved = atomic_load_explicit(&unresolved, memory_order_relaxed);
    for (int i = 0; i < GP_DROP_N; i++)
        o->drops[i] = atomic_load_explicit(&drops[i], memory_order_relaxed);
}
