/* ident.h — the one rule for names that cross the network (hostnames, service names, command
 * ids): non-empty, bounded, valid UTF-8, no control characters (NUL included), no bidi controls. */
#ifndef GPROF_COMMON_IDENT_H
#define GPROF_COMMON_IDENT_H

#include <stddef.h>

/* Checks the len bytes at s (len counts embedded NULs, so "h\0evil" is refused, not
 * truncated). Returns 0 when s is 1..max bytes of UTF-8 without C0/C1 control characters,
 * DEL, or bidirectional controls (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069);
 * otherwise -EINVAL and, when why is non-NULL, a reason such as "contains U+202E (a
 * bidirectional control) at byte 3". */
int gp_ident_check(const char *s, size_t len, size_t max, char *why, size_t whysz);

#endif
