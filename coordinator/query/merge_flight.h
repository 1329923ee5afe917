/* merge_flight.h — one merge of a service's profile per query at a time: requests needing the same
 * merged profile (a pruned first paint and its full tree) share it, and it is kept a few seconds.
 */
#ifndef GPROF_COORD_QUERY_MERGE_FLIGHT_H
#define GPROF_COORD_QUERY_MERGE_FLIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/profile.h"

struct merge_flight;
struct merge_ref; /* a caller's hold on one merged profile */

/* Computes the merged profile of one query (query_profile) into *out; 0 or a negative errno
 * with err set. */
typedef int (*merge_fn)(void *ctx, struct gp_profile **out, struct gp_err *err);

/* Keeps at most keep finished merges, each for keep_ms after it finished. NULL on no memory
 * (every call below accepts NULL: each get then merges on its own). */
struct merge_flight *merge_flight_new(size_t keep, int64_t keep_ms);
void merge_flight_free(struct merge_flight *f);

/* The merged profile of the query key at index generation gen. fn(ctx) runs when no merge of
 * key at gen is under way or was kept; else the caller waits for that one and shares it (an
 * error is shared too, never kept). gen 0 (unknown) never shares. On 0, *ref holds the profile
 * (merge_ref_profile) until merge_flight_release. The profile is shared between threads: only
 * read it (its header exists already, so gp_profile_header does not write); renderers that
 * take references into the header (json_object_get) need a copy of their own. */
int merge_flight_get(struct merge_flight *f, const char *key, uint64_t gen, merge_fn fn, void *ctx,
                     struct merge_ref **ref, struct gp_err *err);
struct gp_profile *merge_ref_profile(struct merge_ref *ref);
void merge_flight_release(struct merge_flight *f, struct merge_ref *ref);

/* Merges run so far, and requests that got a merge another request ran (for /metrics, tests). */
void merge_flight_stats(struct merge_flight *f, uint64_t *merges, uint64_t *shared);

#endif
