/* rollup.h — the engine-neutral rollup plan of the sample index: minute, hour and day
 * resolutions and how a query's minute range splits into whole days, whole hours and edge minutes.
 */
#ifndef GPROF_COORD_INDEX_ROLLUP_H
#define GPROF_COORD_INDEX_ROLLUP_H

#include "coordinator/store/index/index.h"

#include <stdint.h>

enum index_rollup { INDEX_ROLLUP_MINUTE = 0, INDEX_ROLLUP_HOUR = 1, INDEX_ROLLUP_DAY = 2 };
/* Seconds per rollup bucket, indexed by enum index_rollup. */
extern const int64_t index_rollup_span[3];

/* t rounded down to a multiple of span (also for negative t). */
int64_t index_floor_to(int64_t t, int64_t span);

struct index_slice {
    int res;      /* enum index_rollup */
    int64_t a, b; /* [a, b) aligned to the resolution */
};

#define INDEX_SLICES_MAX 5
/* Splits the minute range [s, e) into day, hour and minute slices (at most INDEX_SLICES_MAX;
 * one minute slice for INDEX_RES_MINUTE). Returns how many were written to out. */
int index_plan_slices(int64_t s, int64_t e, enum index_resolution r, struct index_slice *out);

#endif
