/* upload_load.c — load generator for gprof-coordinator's profile upload endpoint
 * (POST /api/v2/profiles), sending gzip'd JSON envelopes exactly as a gProfiler agent does.
 *
 * Two modes:
 *   load (default): --conns N threads, each with one keep-alive libcurl handle, send
 *       pre-generated bodies for --duration seconds with distinct X-Gprof-Upload-Id values,
 *       then print uploads/s and latency percentiles (one "RESULT key=value ..." line).
 *   fill (--fill START): upload --hosts hosts x --minutes minutes of 60 s profiles starting at
 *       epoch START (the dataset of issue 3's flame-graph benchmark), then print the same line.
 *
 * Profiles: --stacks distinct stacks --depth frames deep (default 2,000 x 40), drawn from one
 * stack pool (every host runs the same code) with per-variant counts, like a service's fleet.
 * Load mode bodies are gzip level 9 (Python's gzip.compress default, which the agent uses).
 * Fill mode bodies are three concatenated gzip members (envelope head, the variant's stack text
 * compressed once, envelope tail) so that generating 6,000 bodies costs no client CPU; the
 * coordinator accepts concatenated members like any gzip reader.
 *
 * Build: cc -O2 -o upload_load bench/upload_load.c -lcurl -lz -lpthread */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

struct buf {
    char *p;
    size_t n, cap;
};

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("upload_load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void b_add(struct buf *b, const void *s, size_t n)
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

static void b_printf(struct buf *b, const char *fmt, ...)
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

static uint64_t xrand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* The stack lines of one variant, JSON-escaped (lines joined by the two characters "\n"). A
 * tree like a real service's: shallow frames shared, deeper ones diverging, distinct leaves. */
static void stack_text(struct buf *out, unsigned nstacks, unsigned depth, uint64_t variant)
{
    static const char *const comms[] = {"java", "python3", "nginx", "postgres"};
    static const char *const conts[] = {"", "web-1", "db-0"};
    uint64_t cs = variant * 7919 + 1;
    for (unsigned i = 0; i < nstacks; i++) {
        uint64_t s = 11 * 1000003ULL + i + 1;
        b_printf(out, "\\n0;%s;%s", conts[(i / 4) % 3], comms[i % 4]);
        for (unsigned d = 0; d + 1 < depth; d++) {
            unsigned fan = d < 3 ? 4 : 40;
            b_printf(out, ";mod%u::function_%u_%llu", d % 7, d,
                     (unsigned long long)(xrand(&s) % fan));
        }
        b_printf(out, ";leaf_%u %llu", i, (unsigned long long)(1 + xrand(&cs) % 100));
    }
}

static void fmt_time(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
}

/* The envelope up to the stack lines: top-level fields, then the "# {json}" header line. */
static void envelope_head(struct buf *out, const char *host, const char *service, int64_t start)
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

static void envelope_tail(struct buf *out, int64_t start)
{
    char s[32];
    fmt_time(start - 3600, s, sizeof(s));
    b_printf(out,
             "\", \"cpu_avg\": 12.5, \"mem_avg\": 40.1, \"spawn_time\": \"%s\", \"gpid\": \"\"}",
             s);
}

static void gz_member(struct buf *out, const void *data, size_t len, int level)
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

/* ---- HTTP ------------------------------------------------------------------------------ */

#define MAX_URLS 8

struct opts {
    const char *url, *service, *id_prefix;
    const char *urls[MAX_URLS]; /* --url given more than once: worker i uses urls[i % nurls] */
    unsigned nurls;
    unsigned conns, hosts, minutes, stacks, depth, variants;
    unsigned step; /* fill mode: seconds between a host's profiles (60 = one a minute) */
    double duration;
    int64_t fill_start; /* 0 = load mode */
};

struct body {
    struct buf gz;
};

struct shared {
    const struct opts *o;
    struct body *bodies;
    unsigned nbodies;
    pthread_mutex_t mu;
    unsigned next_fill; /* fill mode: next (minute, host) index */
    double t_end;
};

struct worker {
    struct shared *sh;
    unsigned idx;
    double *lat;
    size_t nlat, cap;
    unsigned errors;
    char last_err[256];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t sink(char *p, size_t sz, size_t n, void *ctx)
{
    struct buf *b = ctx;
    if (b->n < 200)
        b_add(b, p, sz * n < 200 ? sz * n : 200);
    return sz * n;
}

static void fill_body(const struct opts *o, const struct buf *stacks, unsigned k, struct buf *out)
{
    unsigned m = k / o->hosts, h = k % o->hosts;
    char host[64];
    snprintf(host, sizeof(host), "host-%03u", h);
    int64_t st = o->fill_start + (int64_t)m * o->step + h % 60;
    struct buf head = {0}, tail = {0};
    envelope_head(&head, host, o->service, st);
    envelope_tail(&tail, st);
    out->n = 0;
    gz_member(out, head.p, head.n, 6);
    b_add(out, stacks[(m + h) % o->variants].p, stacks[(m + h) % o->variants].n);
    gz_member(out, tail.p, tail.n, 6);
    free(head.p);
    free(tail.p);
}

static struct buf *g_stack_gz; /* fill mode: per-variant compressed stack text */

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    const struct opts *o = sh->o;
    CURL *c = curl_easy_init();
    if (!c)
        die("curl_easy_init failed");
    struct curl_slist *base = NULL;
    char url[512];
    snprintf(url, sizeof(url), "%s/api/v2/profiles", o->urls[w->idx % o->nurls]);
    struct buf resp = {0}, fb = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    char hs[256];
    snprintf(hs, sizeof(hs), "GPROFILER-SERVICE-NAME: %s", o->service);
    base = curl_slist_append(base, hs);
    base = curl_slist_append(base, "GPROFILER-API-KEY: bench");
    base = curl_slist_append(base, "Content-Encoding: gzip");
    base = curl_slist_append(base, "Content-type: application/json");
    base = curl_slist_append(base, "Expect:");
    for (uint64_t seq = 0;; seq++) {
        const struct buf *body;
        unsigned k = 0;
        if (o->fill_start) {
            pthread_mutex_lock(&sh->mu);
            k = sh->next_fill++;
            pthread_mutex_unlock(&sh->mu);
            if (k >= o->hosts * o->minutes)
                break;
            fill_body(o, g_stack_gz, k, &fb);
            body = &fb;
        } else {
            if (now_s() >= sh->t_end)
                break;
            body = &sh->bodies[(w->idx + seq) % sh->nbodies].gz;
        }
        char idh[160];
        if (o->fill_start)
            snprintf(idh, sizeof(idh), "X-Gprof-Upload-Id: %s-f%u", o->id_prefix, k);
        else
            snprintf(idh, sizeof(idh), "X-Gprof-Upload-Id: %s-%u-%" PRIu64, o->id_prefix, w->idx,
                     seq);
        struct curl_slist *h = curl_slist_append(NULL, idh);
        for (struct curl_slist *x = base; x; x = x->next)
            h = curl_slist_append(h, x->data);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->p);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->n);
        resp.n = 0;
        double t0 = now_s();
        CURLcode cr = curl_easy_perform(c);
        double dt = now_s() - t0;
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_slist_free_all(h);
        if (cr != CURLE_OK || code != 200) {
            w->errors++;
            snprintf(w->last_err, sizeof(w->last_err), "%s HTTP %ld %.200s",
                     cr != CURLE_OK ? curl_easy_strerror(cr) : "", code, resp.p ? resp.p : "");
            continue;
        }
        if (w->nlat == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 1024;
            w->lat = realloc(w->lat, w->cap * sizeof(*w->lat));
            if (!w->lat)
                die("out of memory");
        }
        w->lat[w->nlat++] = dt;
    }
    curl_slist_free_all(base);
    curl_easy_cleanup(c);
    free(resp.p);
    free(fb.p);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: upload_load --url http://127.0.0.1:PORT [--conns 16] [--duration 15]\n"
            "                   [--service bench] [--hosts 100] [--stacks 2000] [--depth 40]\n"
            "                   [--variants 8] [--id-prefix P] [--fill START_EPOCH [--minutes "
            "60] [--step 60]]\n"
            "  --url may be repeated: connection i goes to the i-th URL modulo their number\n"
            "  --step: seconds between a host's profiles in fill mode (--minutes profiles each)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct opts o = {.url = NULL,
                     .service = "bench",
                     .id_prefix = "u",
                     .conns = 16,
                     .hosts = 100,
                     .minutes = 60,
                     .step = 60,
                     .stacks = 2000,
                     .depth = 40,
                     .variants = 8,
                     .duration = 15};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--url")) {
            if (o.nurls == MAX_URLS)
                usage();
            o.url = o.urls[o.nurls++] = v;
        } else if (!strcmp(a, "--step"))
            o.step = (unsigned)atoi(v);
        else if (!strcmp(a, "--conns"))
            o.conns = (unsigned)atoi(v);
        else if (!strcmp(a, "--duration"))
            o.duration = atof(v);
        else if (!strcmp(a, "--service"))
            o.service = v;
        else if (!strcmp(a, "--hosts"))
            o.hosts = (unsigned)atoi(v);
        else if (!strcmp(a, "--minutes"))
            o.minutes = (unsigned)atoi(v);
        else if (!strcmp(a, "--stacks"))
            o.stacks = (unsigned)atoi(v);
        else if (!strcmp(a, "--depth"))
            o.depth = (unsigned)atoi(v);
        else if (!strcmp(a, "--variants"))
            o.variants = (unsigned)atoi(v);
        else if (!strcmp(a, "--id-prefix"))
            o.id_prefix = v;
        else if (!strcmp(a, "--fill"))
            o.fill_start = atoll(v);
        else
            usage();
        i++;
    }
    if (!o.url || !o.conns || !o.hosts || !o.stacks || o.depth < 2 || !o.variants || !o.step)
        usage();
    if (curl_global_init(CURL_GLOBAL_DEFAULT))
        die("curl_global_init failed");

    struct shared sh = {.o = &o};
    pthread_mutex_init(&sh.mu, NULL);
    size_t text_bytes = 0;
    if (o.fill_start) {
        g_stack_gz = calloc(o.variants, sizeof(*g_stack_gz));
        if (!g_stack_gz)
            die("out of memory");
        for (unsigned v = 0; v < o.variants; v++) {
            struct buf t = {0};
            stack_text(&t, o.stacks, o.depth, v);
            text_bytes = t.n;
            gz_member(&g_stack_gz[v], t.p, t.n, 6);
            free(t.p);
        }
    } else {
        /* one body per (host, variant) pair up to 16, gzip level 9 like the agent */
        sh.nbodies = o.hosts < 16 ? o.hosts : 16;
        sh.bodies = calloc(sh.nbodies, sizeof(*sh.bodies));
        if (!sh.bodies)
            die("out of memory");
        int64_t t0 = (int64_t)time(NULL) - 120;
        for (unsigned k = 0; k < sh.nbodies; k++) {
            struct buf t = {0};
            char host[64];
            snprintf(host, sizeof(host), "load-host-%03u", k);
            envelope_head(&t, host, o.service, t0);
            stack_text(&t, o.stacks, o.depth, k % o.variants);
            text_bytes = t.n;
            envelope_tail(&t, t0);
            gz_member(&sh.bodies[k].gz, t.p, t.n, 9);
            free(t.p);
        }
    }
    pthread_t *th = calloc(o.conns, sizeof(*th));
    struct worker *ws = calloc(o.conns, sizeof(*ws));
    if (!th || !ws)
        die("out of memory");
    double t0 = now_s();
    sh.t_end = t0 + o.duration;
    for (unsigned i = 0; i < o.conns; i++) {
        ws[i] = (struct worker){.sh = &sh, .idx = i};
        if (pthread_create(&th[i], NULL, worker_main, &ws[i]))
            die("pthread_create failed");
    }
    size_t n = 0;
    unsigned errors = 0;
    const char *last = "";
    for (unsigned i = 0; i < o.conns; i++) {
        pthread_join(th[i], NULL);
        n += ws[i].nlat;
        errors += ws[i].errors;
        if (ws[i].errors)
            last = ws[i].last_err;
    }
    double el = now_s() - t0;
    double *all = malloc((n ? n : 1) * sizeof(*all));
    if (!all)
        die("out of memory");
    size_t k = 0;
    for (unsigned i = 0; i < o.conns; i++) {
        memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof(*all));
        k += ws[i].nlat;
    }
    qsort(all, n, sizeof(*all), cmp_d);
    double p50 = n ? all[n / 2] : 0, p99 = n ? all[(size_t)((double)(n - 1) * 0.99)] : 0;
    printf("RESULT mode=%s ok=%zu errors=%u seconds=%.2f rate=%.1f p50_ms=%.1f p99_ms=%.1f "
           "text_bytes=%zu body_bytes=%zu\n",
           o.fill_start ? "fill" : "load", n, errors, el, (double)n / el, p50 * 1e3, p99 * 1e3,
           text_bytes, sh.nbodies ? sh.bodies[0].gz.n : (g_stack_gz ? g_stack_gz[0].n : 0));
    if (errors)
        fprintf(stderr, "upload_load: %u errors, last: %s\n", errors, last);
    curl_global_cleanup();
    return errors && !n ? 1 : 0;
}
