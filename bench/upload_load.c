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
 * Build: cc -O2 -o upload_load bench/upload_load.c bench/loadgen.c -lcurl -lz -lpthread */
#define _GNU_SOURCE
#include "loadgen.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* every host runs the same code: 2,000 x 40 frames by default, containers named */
static const struct lg_shape shape = {.seed = 11,
                                      .shallow_fan = 4,
                                      .deep_fan = 40,
                                      .mods = 7,
                                      .fn = "function",
                                      .max_count = 100,
                                      .containers = 1};

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
    struct lat lat;
    unsigned errors;
    char last_err[256];
};

static void fill_body(const struct opts *o, const struct buf *stacks, unsigned k, struct buf *out)
{
    unsigned m = k / o->hosts, h = k % o->hosts;
    char host[64];
    snprintf(host, sizeof(host), "host-%03u", h);
    int64_t st = o->fill_start + (int64_t)m * o->step + h % 60;
    struct buf head = {0}, tail = {0};
    lg_envelope_head(&head, host, o->service, st);
    lg_envelope_tail(&tail, st - 3600);
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
    char url[512];
    snprintf(url, sizeof(url), "%s/api/v2/profiles", o->urls[w->idx % o->nurls]);
    struct buf resp = {0}, fb = {0};
    CURL *c = lg_curl_post(&resp, 120);
    curl_easy_setopt(c, CURLOPT_URL, url);
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
        char id[160];
        if (o->fill_start)
            snprintf(id, sizeof(id), "%s-f%u", o->id_prefix, k);
        else
            snprintf(id, sizeof(id), "%s-%u-%" PRIu64, o->id_prefix, w->idx, seq);
        struct curl_slist *h = lg_upload_headers(o->service, "bench", id);
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
        lat_add(&w->lat, dt);
    }
    curl_easy_cleanup(c);
    free(resp.p);
    free(fb.p);
    return NULL;
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
    lg_prog = "upload_load";
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
            lg_stack_text(&t, &shape, o.stacks, o.depth, v);
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
            lg_envelope_head(&t, host, o.service, t0);
            lg_stack_text(&t, &shape, o.stacks, o.depth, k % o.variants);
            text_bytes = t.n;
            lg_envelope_tail(&t, t0 - 3600);
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
    struct lat all = {0};
    unsigned errors = 0;
    const char *last = "";
    for (unsigned i = 0; i < o.conns; i++) {
        pthread_join(th[i], NULL);
        for (size_t j = 0; j < ws[i].lat.n; j++)
            lat_add(&all, ws[i].lat.v[j]);
        errors += ws[i].errors;
        if (ws[i].errors)
            last = ws[i].last_err;
    }
    double el = now_s() - t0;
    size_t n = all.n;
    double p50 = lat_pct(&all, 0.5), p99 = lat_pct(&all, 0.99);
    printf("RESULT mode=%s ok=%zu errors=%u seconds=%.2f rate=%.1f p50_ms=%.1f p99_ms=%.1f "
           "text_bytes=%zu body_bytes=%zu\n",
           o.fill_start ? "fill" : "load", n, errors, el, (double)n / el, p50 * 1e3, p99 * 1e3,
           text_bytes, sh.nbodies ? sh.bodies[0].gz.n : (g_stack_gz ? g_stack_gz[0].n : 0));
    if (errors)
        fprintf(stderr, "upload_load: %u errors, last: %s\n", errors, last);
    curl_global_cleanup();
    return errors && !n ? 1 : 0;
}
