/* loadgen.c — the load generators' shared parts (see loadgen.h).
 * Build with a generator: cc -O2 -o fleet bench/fleet.c bench/loadgen.c -lcurl -lz */
#define _GNU_SOURCE
#include "loadgen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

const char *lg_prog = "loadgen";

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", lg_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void b_add(struct buf *b, const void *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            die("out of memory");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void b_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        die("line too long");
    b_add(b, tmp, (size_t)n);
}

uint64_t xrand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fmt_time(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
}

void gz_member(struct buf *out, const void *data, size_t len, int level)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2 failed");
    size_t bound = deflateBound(&zs, (uLong)len) + 64;
    if (out->n + bound + 1 > out->cap) {
        char *p = realloc(out->p, out->n + bound + 1);
        if (!p)
            die("out of memory");
        out->p = p;
        out->cap = out->n + bound + 1;
    }
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->p + out->n;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        die("deflate failed");
    out->n += bound - zs.avail_out;
    deflateEnd(&zs);
}

void lg_stack_text(struct buf *out, const struct lg_shape *sh, unsigned nstacks, unsigned depth,
                   uint64_t variant)
{
    static const char *const comms[] = {"java", "python3", "nginx", "postgres"};
    static const char *const conts[] = {"", "web-1", "db-0"};
    uint64_t cs = variant * 7919 + 1;
    for (unsigned i = 0; i < nstacks; i++) {
        uint64_t s = sh->seed * 1000003ULL + i + 1;
        b_printf(out, "\\n0;%s;%s", sh->containers ? conts[(i / 4) % 3] : "", comms[i % 4]);
        for (unsigned d = 0; d + 1 < depth; d++) {
            unsigned fan = d < 3 ? sh->shallow_fan : sh->deep_fan;
            b_printf(out, ";mod%u::%s_%u_%llu", d % sh->mods, sh->fn, d,
                     (unsigned long long)(xrand(&s) % fan));
        }
        b_printf(out, ";leaf_%u %llu", i, (unsigned long long)(1 + xrand(&cs) % sh->max_count));
    }
}

void lg_envelope_head(struct buf *out, const char *host, const char *service, int64_t start)
{
    char a[32], b[32];
    fmt_time(start, a, sizeof(a));
    fmt_time(start + 60, b, sizeof(b));
    b_printf(out,
             "{\"start_time\": \"%s\", \"end_time\": \"%s\", \"hostname\": \"%s\", "
             "\"profile\": \"# {\\\"metadata\\\": {\\\"hostname\\\": \\\"%s\\\", "
             "\\\"os_name\\\": \\\"Linux\\\", \\\"kernel_release\\\": \\\"6.1.0-13-amd64\\\", "
             "\\\"cpu_count\\\": 2, \\\"agent_version\\\": \\\"1.50.0\\\", "
             "\\\"run_arguments\\\": {\\\"service_name\\\": \\\"%s\\\", \\\"continuous\\\": true, "
             "\\\"frequency\\\": 11, \\\"duration\\\": 60, \\\"perf_mode\\\": \\\"fp\\\", "
             "\\\"profile_api_version\\\": \\\"v2\\\"}}, "
             "\\\"application_metadata\\\": [null], \\\"metrics\\\": {\\\"cpu_avg\\\": 12.5, "
             "\\\"mem_avg\\\": 40.1}}",
             a, b, host, host, service);
}

void lg_envelope_tail(struct buf *out, int64_t spawn)
{
    char s[32];
    fmt_time(spawn, s, sizeof(s));
    b_printf(out,
             "\", \"cpu_avg\": 12.5, \"mem_avg\": 40.1, \"spawn_time\": \"%s\", \"gpid\": \"\"}",
             s);
}

static size_t sink(char *p, size_t sz, size_t n, void *ctx)
{
    struct buf *b = ctx;
    if (b->n < 200)
        b_add(b, p, sz * n < 200 ? sz * n : 200);
    return sz * n;
}

CURL *lg_curl_post(struct buf *resp, long timeout_s)
{
    CURL *c = curl_easy_init();
    if (!c)
        die("curl_easy_init failed");
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    return c;
}

static struct curl_slist *add(struct curl_slist *l, const char *h)
{
    struct curl_slist *n = curl_slist_append(l, h);
    if (!n)
        die("out of memory");
    return n;
}

struct curl_slist *lg_upload_headers(const char *service, const char *api_key,
                                     const char *upload_id)
{
    char h[256];
    struct curl_slist *l = NULL;
    snprintf(h, sizeof(h), "GPROFILER-SERVICE-NAME: %s", service);
    l = add(l, h);
    if (api_key) {
        snprintf(h, sizeof(h), "GPROFILER-API-KEY: %s", api_key);
        l = add(l, h);
    }
    snprintf(h, sizeof(h), "X-Gprof-Upload-Id: %s", upload_id);
    l = add(l, h);
    l = add(l, "Content-Encoding: gzip");
    l = add(l, "Content-Type: application/json");
    return add(l, "Expect:");
}

void lat_add(struct lat *l, double x)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        if (!l->v)
            die("out of memory");
    }
    l->v[l->n++] = x;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double lat_pct(struct lat *l, double p)
{
    if (!l->n)
        return 0;
    qsort(l->v, l->n, sizeof(*l->v), cmp_d);
    return l->v[(size_t)((double)(l->n - 1) * p)];
}
