/* prom_api.c — GET /metrics: the coordinator's counters in Prometheus text format (requests by
 * endpoint and status, errors by kind, latency, ingest, heartbeats, indexing outbox and lag,
 * build info). Counters are read with relaxed atomics; the outbox figures come from the store at
 * scrape time. */
#include "coordinator/api/api.h"
#include "common/log.h"
#include "common/prom.h"

#include <stdlib.h>

bool api_pre_metrics(const struct http_req *r, struct http_resp *w, char *who, size_t whosz,
                     void *ctx)
{
    (void)who;
    (void)whosz;
    struct coord_api *api = ctx;
    return api->metrics_public || api_ui_ok(api, r, w);
}

static uint64_t get(atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static void counter(struct strbuf *sb, const char *name, const char *help, uint64_t v)
{
    prom_family(sb, name, "counter", help);
    prom_u64(sb, name, NULL, 0, v);
}

/* Outbox depth and the age of its oldest item's profile (0 when empty). */
static void index_figures(struct coord_api *api, struct strbuf *sb)
{
    struct gp_err err = {0};
    struct meta_db *db = api->store->meta;
    int64_t depth = 0;
    if (meta_outbox_pending(db, &depth, &err) != 0) {
        gp_debug("metrics: outbox depth: %s", err.msg);
        return;
    }
    prom_family(sb, "gprof_index_outbox_depth", "gauge",
                "Stored profiles waiting to be indexed (queryable only once indexed).");
    prom_u64(sb, "gprof_index_outbox_depth", NULL, 0, (uint64_t)(depth > 0 ? depth : 0));
    double lag = 0;
    struct meta_outbox_item it;
    if (depth > 0 && meta_outbox_next(db, INT64_MAX, &it, 1, &err) == 1) {
        struct meta_profile p = {0};
        if (meta_profile_get(db, it.profile_id, &p, &err) == 0) {
            int64_t age = coord_now() - p.created_at;
            lag = age > 0 ? (double)age : 0;
            meta_profile_clear(&p);
        }
    }
    prom_family(sb, "gprof_index_lag_seconds", "gauge",
                "Age of the oldest profile still waiting to be indexed (0: caught up).");
    prom_f64(sb, "gprof_index_lag_seconds", NULL, 0, lag);
    struct coord_index_stats is;
    coord_indexer_stats(api->store, &is);
    prom_family(sb, "gprof_index_profiles_total", "counter",
                "Outbox items the indexer handled since start, by result (failed: attempts "
                "retried later).");
    const struct {
        const char *r;
        uint64_t v;
    } res[] = {{"indexed", is.indexed},
               {"skipped", is.skipped},
               {"failed", is.failed},
               {"already", is.already}};
    for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
        struct prom_label l = {"result", res[i].r};
        prom_u64(sb, "gprof_index_profiles_total", &l, 1, res[i].v);
    }
}

/* The upload spool (blob_spool): what waits for its put to the blob store, puts done. */
static void spool_figures(struct coord_api *api, struct strbuf *sb)
{
    if (!api->store->spool)
        return;
    struct coord_spool_stats st;
    coord_spool_get_stats(api->store->spool, &st);
    prom_family(sb, "gprof_upload_spool_files", "gauge",
                "Acknowledged uploads in the local spool waiting for their put to the blob store.");
    prom_u64(sb, "gprof_upload_spool_files", NULL, 0, st.queued);
    prom_family(sb, "gprof_upload_spool_bytes", "gauge", "Body bytes of those uploads.");
    prom_u64(sb, "gprof_upload_spool_bytes", NULL, 0, st.bytes);
    prom_family(sb, "gprof_upload_spool_puts_total", "counter",
                "Puts of spooled uploads to the blob store since start, by result (retry: failed, "
                "tried again later).");
    struct prom_label ok = {"result", "ok"}, retry = {"result", "retry"};
    prom_u64(sb, "gprof_upload_spool_puts_total", &ok, 1, st.uploaded);
    prom_u64(sb, "gprof_upload_spool_puts_total", &retry, 1, st.retries);
    counter(sb, "gprof_upload_spool_full_total",
            "Uploads that put their blob before answering because the spool was full.", st.full);
}

void api_prom_metrics(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    (void)r;
    struct strbuf sb = STRBUF_INIT;
    struct prom_label ver = {"version", GPROF_VERSION};
    prom_family(&sb, "gprof_build_info", "gauge", "The running gprof-coordinator's version.");
    prom_u64(&sb, "gprof_build_info", &ver, 1, 1);
    prom_family(&sb, "gprof_start_time_seconds", "gauge", "When the coordinator started (Unix).");
    prom_u64(&sb, "gprof_start_time_seconds", NULL, 0, (uint64_t)api->started);
    struct http_server *srv = atomic_load(&api->srv);
    if (srv) {
        http_server_metrics(srv, &sb);
        prom_family(&sb, "gprof_http_inflight_requests", "gauge", "Requests being served now.");
        prom_u64(&sb, "gprof_http_inflight_requests", NULL, 0, http_server_inflight(srv));
    }
    struct coord_counters *c = &api->counters;
    counter(&sb, "gprof_ingest_profiles_total", "Profile uploads stored (answered 200).",
            get(&c->profiles));
    prom_family(&sb, "gprof_ingest_bytes_total", "counter",
                "Bytes of the stored uploads: as received (wire, usually gzip) and decoded.");
    struct prom_label wire = {"encoding", "wire"}, dec = {"encoding", "decoded"};
    prom_u64(&sb, "gprof_ingest_bytes_total", &wire, 1, get(&c->profile_wire));
    prom_u64(&sb, "gprof_ingest_bytes_total", &dec, 1, get(&c->profile_bytes));
    counter(&sb, "gprof_ingest_samples_total", "Samples in the stored uploads.", get(&c->samples));
    counter(&sb, "gprof_heartbeats_total", "Agent heartbeats answered.", get(&c->heartbeats));
    counter(&sb, "gprof_command_completions_total", "Agent command completions answered.",
            get(&c->completions));
    uint64_t merges, shared;
    merge_flight_stats(api->merges, &merges, &shared);
    counter(&sb, "gprof_query_merges_total",
            "Profile merges run for flame graphs (each reads the index for one query).", merges);
    counter(&sb, "gprof_query_merges_shared_total",
            "Flame graph requests that used a merge another request ran or had just run.", shared);
    uint64_t hits, misses;
    answer_cache_stats(api->answers, &hits, &misses);
    counter(&sb, "gprof_answer_cache_hits_total", "Flame graphs answered from the answer cache.",
            hits);
    index_figures(api, &sb);
    spool_figures(api, &sb);
    if (sb.oom) {
        sb_free(&sb);
        http_resp_msg(w, 500, "out of memory");
        return;
    }
    size_t len;
    char *body = sb_detach(&sb, &len);
    http_resp_raw(w, 200, PROM_CONTENT_TYPE, body, len);
    w->headers[0][0] = "Cache-Control";
    w->headers[0][1] = "no-store";
}
