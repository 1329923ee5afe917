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
 * Build: cc -O2 -o fleet bench/fleet.c bench/loadgen.c -lcurl -lz */
#define _GNU_SOURCE
#include "loadgen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static const struct opts *g_o;
static struct buf *g_stacks; /* per variant: the gzip member of its stack lines */
static int64_t g_wall0;

static void build(struct req *r, unsigned *phase_s)
{
    const struct opts *o = g_o;
    char host[64], url[512];
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
        r->hdr = curl_slist_append(r->hdr, "Expect:");
    } else {
        snprintf(url, sizeof(url), "%s/api/v2/profiles", o->url);
        int64_t start = g_wall0 + (int64_t)r->seq * 60 + phase_s[r->agent] - 60;
        struct buf head = {0}, tail = {0};
        lg_envelope_head(&head, host, o->service, start);
        lg_envelope_tail(&tail, g_wall0 - 3600);
        gz_member(&r->body, head.p, head.n, 1);
        const struct buf *st = &g_stacks[(r->agent + r->seq) % o->variants];
        b_add(&r->body, st->p, st->n);
        gz_member(&r->body, tail.p, tail.n, 1);
        free(head.p);
        free(tail.p);
        char id[96];
        snprintf(id, sizeof(id), "fleet-%u-%" PRIu64, r->agent, r->seq);
        r->hdr = lg_upload_headers(o->service, NULL, id);
    }
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
    lg_prog = "fleet";
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
    /* counts summing to about 11 Hz x 60 s x 2 CPUs, like an agent's continuous session */
    const struct lg_shape shape = {.seed = 17,
                                   .shallow_fan = 3,
                                   .deep_fan = 24,
                                   .mods = 5,
                                   .fn = "fn",
                                   .max_count = 1320 / (o.stacks ? o.stacks : 1) * 2 + 1,
                                   .containers = 0};
    size_t text = 0;
    for (unsigned v = 0; v < o.variants; v++) {
        struct buf t = {0};
        lg_stack_text(&t, &shape, o.stacks, o.depth, v);
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
        pool[i].c = lg_curl_post(&pool[i].resp, 60);
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
           o.agents, o.speedup, o.agents * o.speedup, el, lh.n, lu.n, errors,
           lat_pct(&lh, 0.5) * 1e3, lat_pct(&lh, 0.99) * 1e3, lat_pct(&lu, 0.5) * 1e3,
           lat_pct(&lu, 0.99) * 1e3, lat_pct(&all, 0.99) * 1e3, lat_pct(&all, 1.0) * 1e3, text,
           g_stacks[0].n);
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
