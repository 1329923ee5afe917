/* fleet.c — fleet simulation for gprof-coordinator (issue 16): plays N agents against one
 * coordinator, each sending a heartbeat every 30 s and one 60 s profile a minute, with the
 * bodies the gProfiler agent sends (heartbeat JSON; gzip'd JSON envelope with a collapsed-stack
 * profile of --stacks stacks --depth frames deep, drawn from one code base like a real service).
 * Agents start at random phases, so the load is even; the schedule is open loop: a request's
 * latency counts from the moment it was due, including any wait for a free connection, so a
 * coordinator that falls behind shows in p99 instead of slowing the senders down.
 * --speedup F compresses time (a heartbeat every 30/F s, a profile every 60/F s): N agents at
 * F send the load of N*F agents in real time.
 * Output: one "RESULT agents=... errors=... p99_ms=..." line (heartbeats and uploads apart).
 * Build: cc -O2 -o fleet bench/fleet.c -lcurl -lz */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <inttypes.h>
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
    fputs("fleet: ", stderr);
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

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

/* A profile's stack lines (JSON-escaped, each starting with "\n"): shallow frames shared by
 * the whole fleet, deeper ones diverging, per-variant counts summing to about 11 Hz x 60 s x
 * 2 CPUs like an agent's continuous session. */
static void stack_text(struct buf *out, unsigned nstacks, unsigned depth, uint64_t variant)
{
    static const char *const comms[] = {"java", "python3", "nginx", "postgres"};
    uint64_t cs = variant * 7919 + 1;
    unsigned per = 1320 / (nstacks ? nstacks : 1) * 2 + 1;
    for (unsigned i = 0; i < nstacks; i++) {
        uint64_t s = 17 * 1000003ULL + i + 1;
        b_printf(out, "\\n0;;%s", comms[i % 4]);
        for (unsigned d = 0; d + 1 < depth; d++) {
            unsigned fan = d < 3 ? 3 : 24;
            b_printf(out, ";mod%u::fn_%u_%llu", d % 5, d, (unsigned long long)(xrand(&s) % fan));
        }
        b_printf(out, ";leaf_%u %llu", i, (unsigned long long)(1 + xrand(&cs) % per));
    }
}

static void fmt_time(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
}

/* ---- the schedule and the requests ------------------------------------------------------ */

enum { HB, UP };

struct opts {
    const char *url, *service;
    unsigned agents, conns, stacks, depth, variants;
    double speedup, duration; /* duration in real seconds */
};

struct req {
    int kind;
    unsigned agent;
    uint64_t seq;
    double due;
    struct buf body, resp;
    struct curl_slist *hdr;
    CURL *c;
};

struct lat {
    double *v;
    size_t n, cap;
};

static void lat_add(struct lat *l, double x)
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

static double pct(struct lat *l, double p)
{
    if (!l->n)
        return 0;
    qsort(l->v, l->n, sizeof(*l->v), cmp_d);
    return l->v[(size_t)((double)(l->n - 1) * p)];
}

static size_t sink(char *p, size_t sz, size_t n, void *ctx)
{
    struct buf *b = ctx;
    if (b->n < 200)
        b_add(b, p, sz * n < 200 ? sz * n : 200);
    return sz * n;
}

static const struct opts *g_o;
static struct buf *g_stacks; /* per variant: the gzip member of its stack lines */
static int64_t g_wall0;

static void build(struct req *r, unsigned *phase_s)
{
    const struct opts *o = g_o;
    char host[64], url[512], h1[256], h2[160];
    snprintf(host, sizeof(host), "fleet-host-%05u", r->agent);
    r->body.n = 0;
    r->resp.n = 0;
    r->hdr = NULL;
    if (r->kind == HB) {
        snprintf(url, sizeof(url), "%s/api/metrics/heartbeat", o->url);
        b_printf(&r->body,
                 "{\"ip_address\": \"10.%u.%u.%u\", \"hostname\": \"%s\", \"service_name\": "
                 "\"%s\", \"last_command_id\": null, \"status\": \"active\", \"timestamp\": "
                 "\"2026-11-22T18:00:00.000000\", \"received_command_ids\": [], "
                 "\"executed_command_ids\": []}",
                 (r->agent >> 16) & 255, (r->agent >> 8) & 255, r->agent & 255, host, o->service);
        r->hdr = curl_slist_append(r->hdr, "Content-Type: application/json");
    } else {
        snprintf(url, sizeof(url), "%s/api/v2/profiles", o->url);
        int64_t start = g_wall0 + (int64_t)r->seq * 60 + phase_s[r->agent] - 60;
        char a[32], b[32], sp[32];
        fmt_time(start, a, sizeof(a));
        fmt_time(start + 60, b, sizeof(b));
        fmt_time(g_wall0 - 3600, sp, sizeof(sp));
        struct buf head = {0}, tail = {0};
        b_printf(&head,
                 "{\"start_time\": \"%s\", \"end_time\": \"%s\", \"hostname\": \"%s\", "
                 "\"profile\": \"# {\\\"metadata\\\": {\\\"hostname\\\": \\\"%s\\\", "
                 "\\\"os_name\\\": \\\"Linux\\\", \\\"kernel_release\\\": \\\"6.1.0-13-amd64\\\", "
                 "\\\"cpu_count\\\": 2, \\\"agent_version\\\": \\\"1.50.0\\\", "
                 "\\\"run_arguments\\\": {\\\"service_name\\\": \\\"%s\\\", \\\"continuous\\\": "
                 "true, \\\"frequency\\\": 11, \\\"duration\\\": 60, \\\"profile_api_version\\\": "
                 "\\\"v2\\\"}}, \\\"application_metadata\\\": [null], \\\"metrics\\\": "
                 "{\\\"cpu_avg\\\": 12.5, \\\"mem_avg\\\": 40.1}}",
                 a, b, host, host, o->service);
        b_printf(&tail,
                 "\", \"cpu_avg\": 12.5, \"mem_avg\": 40.1, \"spawn_time\": \"%s\", \"gpid\": "
                 "\"\"}",
                 sp);
        gz_member(&r->body, head.p, head.n, 1);
        const struct buf *st = &g_stacks[(r->agent + r->seq) % o->variants];
        b_add(&r->body, st->p, st->n);
        gz_member(&r->body, tail.p, tail.n, 1);
        free(head.p);
        free(tail.p);
        snprintf(h1, sizeof(h1), "GPROFILER-SERVICE-NAME: %s", o->service);
        snprintf(h2, sizeof(h2), "X-Gprof-Upload-Id: fleet-%u-%" PRIu64, r->agent, r->seq);
        r->hdr = curl_slist_append(r->hdr, h1);
        r->hdr = curl_slist_append(r->hdr, h2);
        r->hdr = curl_slist_append(r->hdr, "Content-Encoding: gzip");
        r->hdr = curl_slist_append(r->hdr, "Content-Type: application/json");
    }
    r->hdr = curl_slist_append(r->hdr, "Expect:");
    curl_easy_setopt(r->c, CURLOPT_URL, url);
    curl_easy_setopt(r->c, CURLOPT_HTTPHEADER, r->hdr);
    curl_easy_setopt(r->c, CURLOPT_POSTFIELDS, r->body.p);
    curl_easy_setopt(r->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.n);
}

static void usage(void)
{
    fprintf(stderr, "usage: fleet --url http://127.0.0.1:PORT --agents N [--duration 90] "
                    "[--speedup 1]\n             [--conns 64] [--stacks 300] [--depth 30] "
                    "[--variants 16] [--service fleet]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct opts o = {.service = "fleet",
                     .agents = 1000,
                     .conns = 64,
                     .stacks = 300,
                     .depth = 30,
                     .variants = 16,
                     .speedup = 1,
                     .duration = 90};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--url"))
            o.url = v;
        else if (!strcmp(a, "--agents"))
            o.agents = (unsigned)atoi(v);
        else if (!strcmp(a, "--duration"))
            o.duration = atof(v);
        else if (!strcmp(a, "--speedup"))
            o.speedup = atof(v);
        else if (!strcmp(a, "--conns"))
            o.conns = (unsigned)atoi(v);
        else if (!strcmp(a, "--stacks"))
            o.stacks = (unsigned)atoi(v);
        else if (!strcmp(a, "--depth"))
            o.depth = (unsigned)atoi(v);
        else if (!strcmp(a, "--variants"))
            o.variants = (unsigned)atoi(v);
        else if (!strcmp(a, "--service"))
            o.service = v;
        else
            usage();
        i++;
    }
    if (!o.url || !o.agents || !o.conns || o.speedup <= 0 || o.depth < 2 || !o.variants ||
        o.duration <= 0)
        usage();
    g_o = &o;
    if (curl_global_init(CURL_GLOBAL_DEFAULT))
        die("curl_global_init failed");
    g_wall0 = (int64_t)time(NULL);
    g_stacks = calloc(o.variants, sizeof(*g_stacks));
    unsigned *phase = calloc(o.agents, sizeof(*phase)); /* agent's offset in its minute, s */
    unsigned *order = calloc(o.agents, sizeof(*order)); /* agents by phase */
    if (!g_stacks || !phase || !order)
        die("out of memory");
    size_t text = 0;
    for (unsigned v = 0; v < o.variants; v++) {
        struct buf t = {0};
        stack_text(&t, o.stacks, o.depth, v);
        text = t.n;
        gz_member(&g_stacks[v], t.p, t.n, 6);
        free(t.p);
    }
    uint64_t rs = 12345;
    for (unsigned a = 0; a < o.agents; a++)
        phase[a] = (unsigned)(xrand(&rs) % 60000); /* ms */
    /* counting sort of the agents by phase */
    {
        unsigned *cnt = calloc(60001, sizeof(*cnt));
        if (!cnt)
            die("out of memory");
        for (unsigned a = 0; a < o.agents; a++)
            cnt[phase[a] + 1]++;
        for (unsigned i = 1; i <= 60000; i++)
            cnt[i] += cnt[i - 1];
        for (unsigned a = 0; a < o.agents; a++)
            order[cnt[phase[a]]++] = a;
        free(cnt);
    }
    unsigned *phase_s = calloc(o.agents, sizeof(*phase_s));
    if (!phase_s)
        die("out of memory");
    for (unsigned a = 0; a < o.agents; a++)
        phase_s[a] = phase[a] / 1000;

    CURLM *m = curl_multi_init();
    if (!m)
        die("curl_multi_init failed");
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)o.conns);
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o.conns);
    struct req *pool = calloc(o.conns, sizeof(*pool));
    struct req **freel = calloc(o.conns, sizeof(*freel));
    if (!pool || !freel)
        die("out of memory");
    size_t nfree = 0;
    for (unsigned i = 0; i < o.conns; i++) {
        pool[i].c = curl_easy_init();
        if (!pool[i].c)
            die("curl_easy_init failed");
        curl_easy_setopt(pool[i].c, CURLOPT_POST, 1L);
        curl_easy_setopt(pool[i].c, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(pool[i].c, CURLOPT_WRITEDATA, &pool[i].resp);
        curl_easy_setopt(pool[i].c, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(pool[i].c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(pool[i].c, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(pool[i].c, CURLOPT_PRIVATE, &pool[i]);
        freel[nfree++] = &pool[i];
    }
    /* The two schedules are monotone sequences: event j of a period P is agent order[j % N]
     * at (j / N) * P + phase (scaled by the speedup). */
    double hb_p = 30.0 / o.speedup, up_p = 60.0 / o.speedup;
    uint64_t jh = 0, ju = 0;
    struct lat lh = {0}, lu = {0};
    unsigned long errors = 0;
    char last_err[300] = "";
    double t0 = now_s();
    int running = 0;
    for (;;) {
        double t = now_s() - t0;
        for (int kind = HB; kind <= UP; kind++) {
            uint64_t *j = kind == HB ? &jh : &ju;
            double per = kind == HB ? hb_p : up_p;
            while (nfree) {
                unsigned a = order[*j % o.agents];
                double frac = (double)phase[a] / 60000.0; /* same place in each period */
                double due = ((double)(*j / o.agents) + frac) * per;
                if (due > t || due >= o.duration)
                    break;
                struct req *r = freel[--nfree];
                r->kind = kind;
                r->agent = a;
                r->seq = *j / o.agents;
                r->due = due;
                build(r, phase_s);
                curl_multi_add_handle(m, r->c);
                (*j)++;
            }
        }
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct req *r;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            long code = 0;
            curl_easy_getinfo(r->c, CURLINFO_RESPONSE_CODE, &code);
            double lat = now_s() - t0 - r->due;
            if (msg->data.result != CURLE_OK || code != 200) {
                errors++;
                snprintf(last_err, sizeof(last_err), "%s %s HTTP %ld %.200s",
                         r->kind == HB ? "heartbeat" : "upload",
                         msg->data.result != CURLE_OK ? curl_easy_strerror(msg->data.result) : "",
                         code, r->resp.p ? r->resp.p : "");
            } else {
                lat_add(r->kind == HB ? &lh : &lu, lat);
            }
            curl_multi_remove_handle(m, r->c);
            curl_slist_free_all(r->hdr);
            r->hdr = NULL;
            freel[nfree++] = r;
        }
        if (t >= o.duration && !running)
            break;
        curl_multi_poll(m, NULL, 0, 2, NULL);
    }
    double el = now_s() - t0;
    struct lat all = {0};
    for (size_t i = 0; i < lh.n; i++)
        lat_add(&all, lh.v[i]);
    for (size_t i = 0; i < lu.n; i++)
        lat_add(&all, lu.v[i]);
    printf("RESULT agents=%u speedup=%g equiv_agents=%.0f seconds=%.1f heartbeats=%zu "
           "uploads=%zu errors=%lu hb_p50_ms=%.1f hb_p99_ms=%.1f up_p50_ms=%.1f up_p99_ms=%.1f "
           "p99_ms=%.1f max_ms=%.1f text_bytes=%zu body_bytes=%zu\n",
           o.agents, o.speedup, o.agents * o.speedup, el, lh.n, lu.n, errors, pct(&lh, 0.5) * 1e3,
           pct(&lh, 0.99) * 1e3, pct(&lu, 0.5) * 1e3, pct(&lu, 0.99) * 1e3, pct(&all, 0.99) * 1e3,
           pct(&all, 1.0) * 1e3, text, g_stacks[0].n);
    if (errors)
        fprintf(stderr, "fleet: %lu errors, last: %s\n", errors, last_err);
    for (unsigned i = 0; i < o.conns; i++) {
        curl_easy_cleanup(pool[i].c);
        free(pool[i].body.p);
        free(pool[i].resp.p);
    }
    curl_multi_cleanup(m);
    curl_global_cleanup();
    return errors ? 1 : 0;
}
