/* timeutil.h — the timestamps of the gProfiler/Performance Studio APIs: ISO 8601 parsing
 * ("2026-01-02T03:04:05[.fff][Z|±hh:mm]", naive = UTC, or epoch seconds) and formatting. */
#ifndef GPROF_COORD_API_TIMEUTIL_H
#define GPROF_COORD_API_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* 0 and *out = epoch seconds, or -EINVAL. Accepts a date alone ("2026-01-02") too. */
int tu_parse(const char *s, int64_t *out);
/* "YYYY-MM-DDTHH:MM:SS" in UTC (naive, like the reference). buf >= 20 bytes. */
void tu_format(int64_t t, char *buf, size_t bufsz);
/* Same with a trailing "Z". */
void tu_format_z(int64_t t, char *buf, size_t bufsz);

#endif
