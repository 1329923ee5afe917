/* profile.h — an aggregated CPU profile: stacks keyed by (app index, container, comm, frames
 * root→leaf) with sample counts, strings interned once, plus the JSON header that travels with it.
 */
#ifndef GPROF_COMMON_PROFILE_H
#define GPROF_COMMON_PROFILE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define GP_NO_ID UINT32_MAX

struct gp_profile;

/* One aggregated stack as handed to iterators; pointers stay valid until the profile changes. */
struct gp_stack_view {
    uint32_t app_idx;      /* index into the header's application_metadata (0 = none) */
    const char *container; /* "" when not in a container */
    const char *comm;      /* process name */
    uint32_t nframes;
    const char *const *frames; /* root first, leaf last */
    uint64_t count;
};

typedef int (*gp_stack_cb)(const struct gp_stack_view *s, void *ctx);

struct gp_profile *gp_profile_new(void);
void gp_profile_free(struct gp_profile *p);

/* Interns a string (len bytes, need not be NUL-terminated); returns its id or GP_NO_ID on OOM. */
uint32_t gp_profile_intern(struct gp_profile *p, const char *s, size_t len);
const char *gp_profile_str(const struct gp_profile *p, uint32_t id);

/* Adds count samples to a stack, creating it when new. Returns 0 or -ENOMEM. */
int gp_profile_add_ids(struct gp_profile *p, uint32_t app_idx, uint32_t container_id,
                       uint32_t comm_id, const uint32_t *frame_ids, uint32_t nframes,
                       uint64_t count);
int gp_profile_add(struct gp_profile *p, uint32_t app_idx, const char *container, const char *comm,
                   const char *const *frames, uint32_t nframes, uint64_t count);
/* Adds every stack of src to dst. */
int gp_profile_merge(struct gp_profile *dst, const struct gp_profile *src);

size_t gp_profile_nstacks(const struct gp_profile *p);
/* How many strings are interned: ids are 0 .. gp_profile_nstrs() - 1. */
uint32_t gp_profile_nstrs(const struct gp_profile *p);

/* Stack k (0 <= k < gp_profile_nstacks(), insertion order) as string ids, for code that works on
 * ids rather than text (frames stay valid until the profile changes). Returns 0 or -ERANGE. */
struct gp_stack_ids {
    uint32_t app_idx, container, comm, nframes;
    const uint32_t *frames; /* root first */
    uint64_t count;
};
int gp_profile_stack_ids(const struct gp_profile *p, size_t k, struct gp_stack_ids *out);
uint64_t gp_profile_total(const struct gp_profile *p);

/* Calls cb for every stack in insertion order; stops and returns cb's value when non-zero. */
int gp_profile_foreach(const struct gp_profile *p, gp_stack_cb cb, void *ctx);
/* Same, heaviest stack first (ties in insertion order). */
int gp_profile_foreach_sorted(const struct gp_profile *p, gp_stack_cb cb, void *ctx);

/* The header object (created empty on first use); borrowed, owned by the profile. */
json_object *gp_profile_header(struct gp_profile *p);
/* Replaces the header; takes ownership of h (may be NULL). */
void gp_profile_set_header(struct gp_profile *p, json_object *h);

#endif
