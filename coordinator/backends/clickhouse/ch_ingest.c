/* backends/clickhouse/ch_ingest.c — adding profiles to the ClickHouse sample index in batches:
 * new dictionary rows (stacks not yet written for that day, per the process's cache), the raw
 * samples (rollups follow through the materialized views) and last the profiles rows, the
 * "indexed" marker, each one RowBinary POST.
 *
 * Exactly once: a profile counts once its marker row exists. A batch first skips profiles that
 * have a marker, then profiles whose raw rows are already there (an earlier attempt whose
 * samples landed but whose marker did not, e.g. a timeout after the server committed): those get
 * only their marker. The samples insert carries a query_id derived from its profile ids, so a
 * retry while the timed-out attempt is still running is refused (code 216, -EAGAIN) instead of
 * inserting twice; one insert is one block (max_insert_block_size above the batch), and a
 * profile lives in one day partition, so its raw rows land whole or not at all. */
#include "coordinator/backends/clickhouse/ch_internal.h"
#include "coordinator/index/stack_id.h"
#include "common/hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct add_ctx {
    struct chx *x;
    const struct index_profile_meta *m;
    uint32_t minute, day;
    int write_samples;
    struct strbuf *stacks, *samples;
    struct index_str_hashes sh;
    uint64_t total;
};

static int add_cb(const struct gp_stack_view *s, void *ctx)
{
    struct add_ctx *a = ctx;
    if (!s->count)
        return 0;
    uint64_t h = index_stack_hash(&a->sh, s);
    a->total += s->count;
    struct index_stack_cache_ent *ce = index_stack_cache_find(&a->x->cache, h);
    if (!ce || ce->last_day < a->day) {
        rb_u64(a->stacks, h);
        rb_u32(a->stacks, a->day);
        rb_str(a->stacks, s->container, strlen(s->container));
        rb_str(a->stacks, s->comm, strlen(s->comm));
        rb_varint(a->stacks, s->nframes);
        for (uint32_t i = 0; i < s->nframes; i++)
            rb_str(a->stacks, s->frames[i], strlen(s->frames[i]));
        if (ce)
            ce->last_day = a->day;
        else
            index_stack_cache_put(&a->x->cache, h, 0, a->day);
    }
    if (!a->write_samples)
        return 0;
    for (uint64_t left = s->count; left;) {
        uint32_t c = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
        rb_str(a->samples, a->m->service, strlen(a->m->service));
        rb_u32(a->samples, a->minute);
        rb_u64(a->samples, h);
        rb_str(a->samples, a->m->hostname, strlen(a->m->hostname));
        rb_u64(a->samples, (uint64_t)a->m->profile_id);
        rb_u32(a->samples, c);
        left -= c;
    }
    return 0;
}

/* Which profiles of m[0..n) (not already in found[]) have a row in table: found[i] = 1. For the
 * raw samples the condition names each profile's service and hour, so the primary key prunes. */
static int which_exist(struct chx *x, const char *table, const struct index_profile_meta *const *m,
                       size_t n, int *found, int raw, struct gp_err *err)
{
    struct strbuf q = STRBUF_INIT, out = STRBUF_INIT;
    sb_puts(&q, "SELECT DISTINCT pid FROM ");
    ch_table(x, &q, table);
    sb_puts(&q, " WHERE ");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (found[i])
            continue;
        if (k++)
            sb_puts(&q, " OR ");
        if (raw) {
            int64_t mi = m[i]->start_time - m[i]->start_time % 60;
            sb_puts(&q, "(service = ");
            ch_sql_str(&q, m[i]->service);
            sb_printf(&q, " AND intDiv(minute, 3600) = %lld AND minute = %lld AND pid = %lld)",
                      (long long)(mi / 3600), (long long)mi, (long long)m[i]->profile_id);
        } else {
            sb_printf(&q, "pid = %lld", (long long)m[i]->profile_id);
        }
    }
    if (!k) {
        sb_free(&q);
        return 0;
    }
    sb_puts(&q, " FORMAT RowBinary");
    int rc = q.oom ? gp_err_set(err, -ENOMEM, "out of memory")
                   : ch_exec(x, sb_str(&q), NULL, 0, NULL, NULL, &out, err);
    if (rc == 0) {
        struct rb_reader r = {(const unsigned char *)out.buf,
                              (const unsigned char *)out.buf + out.len, 0};
        while (r.p < r.end && !r.bad) {
            int64_t id = (int64_t)rd_u64(&r);
            for (size_t i = 0; i < n; i++)
                if (m[i]->profile_id == id)
                    found[i] = 1;
        }
        if (r.bad)
            rc = gp_err_set(err, -EPROTO, "clickhouse: truncated answer listing profiles");
    }
    sb_free(&q);
    sb_free(&out);
    return rc;
}

static int insert(struct chx *x, const char *table, const char *cols, const struct strbuf *body,
                  const char *query_id, struct gp_err *err)
{
    if (body->oom)
        return gp_err_set(err, -ENOMEM, "out of memory");
    if (!body->len)
        return 0;
    struct strbuf q = STRBUF_INIT;
    sb_puts(&q, "INSERT INTO ");
    ch_table(x, &q, table);
    sb_printf(&q, " (%s) FORMAT RowBinary", cols);
    const char *settings = x->cluster ? "&max_insert_block_size=100000000&insert_distributed_sync=1"
                                      : "&max_insert_block_size=100000000";
    int rc = q.oom ? gp_err_set(err, -ENOMEM, "out of memory")
                   : ch_exec(x, sb_str(&q), body->buf, body->len, settings, query_id, NULL, err);
    sb_free(&q);
    return rc;
}

int chx_add_batch(void *impl, const struct index_profile_meta *const *m,
                  const struct gp_profile *const *p, size_t n, struct gp_err *err)
{
    struct chx *x = impl;
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (m[i]->start_time < 0 || m[i]->start_time > (int64_t)UINT32_MAX)
            return gp_err_set(err, -EINVAL, "clickhouse index: start time %lld out of range",
                              (long long)m[i]->start_time);
    int64_t *ids = calloc(n, sizeof(*ids));
    int *marked = calloc(n, sizeof(*marked)), *landed = calloc(n, sizeof(*landed));
    struct strbuf stacks = STRBUF_INIT, samples = STRBUF_INIT, profs = STRBUF_INIT;
    int rc = 0;
    if (!ids || !marked || !landed) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        ids[i] = m[i]->profile_id;
        for (size_t j = 0; j < i; j++)
            if (ids[j] == ids[i])
                marked[i] = 1; /* twice in one batch: the first one counts */
    }
    pthread_mutex_lock(&x->wmu);
    if ((rc = which_exist(x, "profiles", m, n, marked, 0, err)) < 0)
        goto unlock;
    memcpy(landed, marked, n * sizeof(*landed));
    if ((rc = which_exist(x, "samples", m, n, landed, 1, err)) < 0)
        goto unlock;
    uint64_t qh = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        if (marked[i])
            continue;
        struct add_ctx a = {.x = x,
                            .m = m[i],
                            .minute = (uint32_t)(m[i]->start_time - m[i]->start_time % 60),
                            .write_samples = !landed[i],
                            .stacks = &stacks,
                            .samples = &samples};
        a.day = a.minute / 86400;
        gp_profile_foreach(p[i], add_cb, &a);
        index_str_hashes_free(&a.sh);
        if (!landed[i])
            qh = gp_hash_bytes(qh, &ids[i], sizeof(ids[i]));
        rb_u64(&profs, (uint64_t)m[i]->profile_id);
        rb_str(&profs, m[i]->service, strlen(m[i]->service));
        rb_str(&profs, m[i]->hostname, strlen(m[i]->hostname));
        rb_u64(&profs, (uint64_t)m[i]->start_time);
        rb_u32(&profs, a.minute);
        rb_u64(&profs, a.total);
        rb_f64(&profs, m[i]->cpu_avg);
        rb_f64(&profs, m[i]->mem_avg);
    }
    char qid[160];
    snprintf(qid, sizeof(qid), "gprof-add-%.80s-%016llx", x->db, (unsigned long long)qh);
    if ((rc = insert(x, "stacks", "hash, day, container, comm, frames", &stacks, NULL, err)) < 0 ||
        (rc = insert(x, "samples", "service, minute, stack, host, pid, count", &samples, qid,
                     err)) < 0 ||
        (rc = insert(x, "profiles", "pid, service, host, start_time, minute, samples, cpu, mem",
                     &profs, NULL, err)) < 0) {
        /* the dictionary rows may not have been written: forget what the cache learnt */
        index_stack_cache_clear(&x->cache);
    }
unlock:
    pthread_mutex_unlock(&x->wmu);
out:
    free(ids);
    free(marked);
    free(landed);
    sb_free(&stacks);
    sb_free(&samples);
    sb_free(&profs);
    return rc;
}

int chx_add(void *impl, const struct index_profile_meta *m, const struct gp_profile *p,
            struct gp_err *err)
{
    return chx_add_batch(impl, &m, &p, 1, err);
}

int chx_has(void *impl, int64_t profile_id, struct gp_err *err)
{
    int found = 0;
    int rc = chx_has_many(impl, &profile_id, 1, &found, err);
    return rc < 0 ? rc : found;
}

int chx_has_many(void *impl, const int64_t *ids, size_t n, int *found, struct gp_err *err)
{
    struct chx *x = impl;
    struct index_profile_meta *pm = calloc(n ? n : 1, sizeof(*pm));
    const struct index_profile_meta **mp = calloc(n ? n : 1, sizeof(*mp));
    int rc = 0;
    if (!pm || !mp) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        pm[i].profile_id = ids[i];
        mp[i] = &pm[i];
        found[i] = 0;
    }
    rc = which_exist(x, "profiles", mp, n, found, 0, err);
out:
    free(pm);
    free(mp);
    return rc;
}

void chx_batch_policy(void *impl, size_t *rows, int *ms)
{
    struct chx *x = impl;
    *rows = x->batch_rows;
    *ms = x->batch_ms;
}
