/* pprof.h — exports a gp_profile as a gzip-compressed pprof protobuf (perftools Profile),
 * readable by `go tool pprof`; also the header lookups (times, frequency) the exports share. */
#ifndef GPROF_COMMON_PPROF_H
#define GPROF_COMMON_PPROF_H

#include "common/err.h"
#include "common/profile.h"
#include "common/strbuf.h"

/* Appends the gzip-compressed profile to out_gz. Sample types are samples/count and
 * cpu/nanoseconds (count × 1e9/freq_hz); period_type cpu/nanoseconds with that period.
 * freq_hz 0 means "take it from the header" (gp_profile_frequency); when still unknown only
 * samples/count is written. time_nanos and duration_nanos come from the header's start and
 * end times when present. Each distinct frame is one Function and one Location; the process
 * name (comm) is the root frame of every sample (Function filename "[process]") so the pprof
 * flame graph groups by process as gProfiler's does, and is also a "comm" label (plus a
 * "container" label when non-empty) so `-tagfocus=comm=…` works. */
int gp_pprof_write(struct gp_profile *p, unsigned freq_hz, struct strbuf *out_gz,
                   struct gp_err *err);

/* Sampling frequency from the header: "sampling_frequency", "frequency" or "freq_hz", at the
 * top level or in "metadata"; 0 when absent. */
unsigned gp_profile_frequency(struct gp_profile *p);

/* Start and end of the profiled interval in seconds since the epoch, from the header's
 * "start_time"/"end_time" (top level or "metadata"), each a number (epoch seconds) or an ISO
 * 8601 string ("2026-01-02T03:04:05[.123][Z|±hh:mm]", no zone = UTC). Returns 0 when both
 * were found, -ENOENT otherwise (the values found are still set, others to 0). */
int gp_profile_time_range(struct gp_profile *p, double *start, double *end);

#endif
