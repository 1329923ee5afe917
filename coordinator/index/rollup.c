/* index/rollup.c — rollup resolutions and the query plan over them, shared by every index
 * engine that keeps minute, hour and day buckets. */
#include "coordinator/index/rollup.h"

const int64_t index_rollup_span[3] = {60, 3600, 86400};

int64_t index_floor_to(int64_t t, int64_t span)
{
    int64_t q = t / span;
    if (t % span < 0)
        q--;
    return q * span;
}

/* See rollup.h. */
int index_plan_slices(int64_t s, int64_t e, enum index_resolution r, struct index_slice *out)
{
    int n = 0;
    if (s >= e)
        return 0;
    if (r == INDEX_RES_MINUTE) {
        out[n++] = (struct index_slice){INDEX_ROLLUP_MINUTE, s, e};
        return n;
    }
    int64_t d0 = index_floor_to(s + 86399, 86400), d1 = index_floor_to(e, 86400);
    struct {
        int64_t a, b;
    } rest[2];
    int nrest = 0;
    if (d0 < d1) {
        out[n++] = (struct index_slice){INDEX_ROLLUP_DAY, d0, d1};
        rest[nrest].a = s;
        rest[nrest++].b = d0;
        rest[nrest].a = d1;
        rest[nrest++].b = e;
    } else {
        rest[nrest].a = s;
        rest[nrest++].b = e;
    }
    for (int i = 0; i < nrest; i++) {
        int64_t a = rest[i].a, b = rest[i].b;
        if (a >= b)
            continue;
        int64_t h0 = index_floor_to(a + 3599, 3600), h1 = index_floor_to(b, 3600);
        if (h0 < h1) {
            out[n++] = (struct index_slice){INDEX_ROLLUP_HOUR, h0, h1};
            if (a < h0)
                out[n++] = (struct index_slice){INDEX_ROLLUP_MINUTE, a, h0};
            if (h1 < b)
                out[n++] = (struct index_slice){INDEX_ROLLUP_MINUTE, h1, b};
        } else {
            out[n++] = (struct index_slice){INDEX_ROLLUP_MINUTE, a, b};
        }
    }
    return n;
}
