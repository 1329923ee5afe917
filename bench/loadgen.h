/* loadgen.h — what the load generators (upload_load.c, fleet.c) share: growable buffers, gzip
 * members, gProfiler agent envelopes and stack text, libcurl handle and header setup, latencies. */
#ifndef GPROF_BENCH_LOADGEN_H
#define GPROF_BENCH_LOADGEN_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

/* Name in die()'s messages; each program sets it first. */
extern const char *lg_prog;
/* Prints "PROG: message" and exits 1 (a benchmark has nothing to recover). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

struct buf {
    char *p;
    size_t n, cap;
};
void b_add(struct buf *b, const void *s, size_t n);
void b_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

uint64_t xrand(uint64_t *s);                   /* xorshift64 */
double now_s(void);                            /* monotonic seconds */
void fmt_time(int64_t t, char *out, size_t n); /* ISO 8601, UTC, no zone */

/* Appends one gzip member of data at level to out (concatenated members are one gzip stream). */
void gz_member(struct buf *out, const void *data, size_t len, int level);

/* How a profile's stacks look: shallow frames shared by the fleet, deeper ones diverging. */
struct lg_shape {
    uint64_t seed;        /* of the frame choice (same for every variant) */
    unsigned shallow_fan; /* choices per frame in the first 3 levels */
    unsigned deep_fan;    /* choices per frame below */
    unsigned mods;        /* distinct module names */
    const char *fn;       /* function name stem */
    unsigned max_count;   /* counts drawn from 1..max_count */
    int containers;       /* prefix a container name (else none) */
};
/* The stack lines of one variant, JSON-escaped, each starting with the two characters "\n". */
void lg_stack_text(struct buf *out, const struct lg_shape *sh, unsigned nstacks, unsigned depth,
                   uint64_t variant);

/* A gProfiler agent's upload envelope around the stack lines: the head up to them (top-level
 * fields, then the "# {json}" header line) for a 60 s profile from start; the tail after them
 * with the agent's spawn time. */
void lg_envelope_head(struct buf *out, const char *host, const char *service, int64_t start);
void lg_envelope_tail(struct buf *out, int64_t spawn);

/* A POST handle: the first 200 bytes of each answer into resp, timeout_s, no signals, no Nagle. */
CURL *lg_curl_post(struct buf *resp, long timeout_s);
/* The headers of a profile upload (api_key NULL = none); the caller frees the list. */
struct curl_slist *lg_upload_headers(const char *service, const char *api_key,
                                     const char *upload_id);

/* Latencies in seconds and their percentiles. */
struct lat {
    double *v;
    size_t n, cap;
};
void lat_add(struct lat *l, double x);
double lat_pct(struct lat *l, double p); /* sorts; 0 when empty */

#endif
