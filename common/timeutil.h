/* timeutil.h — the one time module: ISO 8601 parsing ("2026-01-02T03:04:05[.fff][Z|±hh:mm]",
 * naive = UTC, or epoch seconds) and formatting, for the APIs, profile headers and the CLI. */
#ifndef GPROF_COMMON_TIMEUTIL_H
#define GPROF_COMMON_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* 0 and *out = epoch seconds, or -EINVAL. Accepts a date alone ("2026-01-02") too. */
int tu_parse(const char *s, int64_t *out);
/* Same, keeping the fraction of a second ("…:05.250Z" -> ….25). */
int tu_parse_frac(const char *s, double *out);
/* "YYYY-MM-DDTHH:MM:SS" in UTC (naive, like the reference). buf >= 20 bytes. */
void tu_format(int64_t t, char *buf, size_t bufsz);
/* Same with a trailing "Z". */
void tu_format_z(int64_t t, char *buf, size_t bufsz);

#endif
