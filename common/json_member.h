/* json_member.h — a fast path for JSON objects carrying one huge string member (the agent's
 * upload envelope, whose "profile" holds MiBs of collapsed text): json-c takes ~15 ns a byte there.
 */
#ifndef GPROF_COMMON_JSON_MEMBER_H
#define GPROF_COMMON_JSON_MEMBER_H

#include <stddef.h>

/* Finds the member `key` of the top-level object in doc (len bytes) whose value is a string,
 * and sets *qstart and *qend to the offsets of its opening and closing quotes. Returns 1 when the
 * key occurs exactly once at the top level, spelled without escapes, with a string value;
 * 0 otherwise, including on anything malformed: the caller then uses a full JSON parser,
 * which also gives the precise error. Does not validate the rest of the document. */
int gp_json_find_string_member(const char *doc, size_t len, const char *key, size_t *qstart,
                               size_t *qend);

/* Decodes the body of a JSON string (s, n bytes, quotes excluded) into out (at least n + 1
 * bytes; NUL-terminated) and sets *outlen. Returns 1 when done; 0 when the string holds
 * something this fast path leaves to a full parser (a \u escape, an invalid escape, a NUL
 * byte). What it accepts decodes exactly as json-c does (raw bytes other than '"', '\\' and
 * NUL are kept as they are). */
int gp_json_unescape_simple(const char *s, size_t n, char *out, size_t *outlen);

#endif
