/* frames.h — the stacks of one drain as frames (mapping, offset, kind) without text: each distinct
 * frame is kept once, named once at the end of the drain, then every stack goes into the profile.
 */
#ifndef GPROF_AGENT_FRAMES_H
#define GPROF_AGENT_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "agent/procs/proctable.h"
#include "common/profile.h"

/* The kind selects who names a frame (see agent/unwind/README.md). */
enum gp_frame_kind {
    GP_FRAME_NATIVE = 1, /* machine code of a process: the symbolizer */
    GP_FRAME_KERNEL,     /* kernel text: kallsyms */
    GP_FRAME_LOST,       /* a marker: the kernel could not store the stack ("[lost stack]") */
};

/* mapping is what the address fell into, from the process's maps snapshot:
 *   native   { tgid, start of its mapping (0: in none) }, offset = from that start
 *   kernel   { 0, 0 }, offset = the kernel address
 * A native frame is per process: the binary behind a mapping may be named differently in two
 * processes (one read it, the other could not open it; a JIT's perf map is its own).
 * Addresses are as looked up: the sampled ip, or a return address minus one (a call at the end
 * of a function is named by its caller). */
struct gp_frame {
    uint64_t mapping[2];
    uint64_t offset;
    enum gp_frame_kind kind;
};

/* A distinct frame of the drain, with what a namer needs and what it answered. */
struct gp_frame_entry {
    struct gp_frame frame;
    uint32_t tgid; /* the first process it was seen in (native) */
    uint64_t addr; /* its address there (native, kernel) */
    uint32_t name; /* profile string id, set by the namer */
    int resolved;  /* the namer found a name (not module+offset, not [unknown]) */
};

#define GP_FRAME_NONE UINT32_MAX

struct gp_frameset;

int gp_frameset_new(struct gp_frameset **out);
void gp_frameset_free(struct gp_frameset *f);

/* Adds a frame and returns its index in the drain, or GP_FRAME_NONE when out of memory.
 * p is the process's table entry (NULL when it is not known: the frame is then per process). */
uint32_t gp_frameset_native(struct gp_frameset *f, uint32_t tgid, const struct gp_proc *p,
                            uint64_t addr);
uint32_t gp_frameset_kernel(struct gp_frameset *f, uint64_t addr);
uint32_t gp_frameset_lost(struct gp_frameset *f);
/* Keeps one stack (frame indices root first) for gp_frameset_emit(). 0 or -ENOMEM. */
int gp_frameset_add_stack(struct gp_frameset *f, uint32_t container, uint32_t comm,
                          const uint32_t *frames, uint32_t n, uint64_t count);

/* The distinct frames of the drain, for the namers: 0 .. count-1. */
size_t gp_frameset_count(const struct gp_frameset *f);
struct gp_frame_entry *gp_frameset_entry(struct gp_frameset *f, size_t i);

/* Adds every stack kept to prof under its frames' names and counts the frames of the stacks
 * (markers left out) into *frames and the unresolved ones into *unresolved; then empties the
 * set for the next drain. 0 or -ENOMEM (the set is emptied either way). */
int gp_frameset_emit(struct gp_frameset *f, struct gp_profile *prof, uint64_t *frames,
                     uint64_t *unresolved);

#endif
