/* hb_cache.c — the heartbeat cache: one entry per (host, service) with its current
 * command's answer, an LRU bound, write-behind flushing and expiry (see plane.h). */
#include "coordinator/control/plane_internal.h"
#include "common/hash.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t key_hash(const char *host, const char *service)
{
    uint64_t h = gp_hash_bytes(GP_HASH_SEED, host, strlen(host) + 1);
    return gp_hash_mix(gp_hash_bytes(h, service, strlen(service)));
}

static void entry_free(struct hb_entry *e)
{
    free(e->host);
    free(e->service);
    free(e->agent_version);
    free(e->last_cmd);
    free(e->received);
    free(e->executed);
    free(e->sessions);
    free(e->answer);
    free(e);
}

/* ---- the LRU list (cache_mu held) ------------------------------------------------------ */

static void lru_unlink(struct cp_plane *p, struct hb_entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        p->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        p->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_append(struct cp_plane *p, struct hb_entry *e)
{
    e->lru_prev = p->lru_tail;
    e->lru_next = NULL;
    if (p->lru_tail)
        p->lru_tail->lru_next = e;
    else
        p->lru_head = e;
    p->lru_tail = e;
}

/* Seen now: the most recently seen. */
void cpi_lru_touch(struct cp_plane *p, struct hb_entry *e)
{
    if (p->lru_tail != e) {
        lru_unlink(p, e);
        lru_append(p, e);
    }
}

/* Drops e from the table and frees it. */
static void entry_remove(struct cp_plane *p, struct hb_entry *e)
{
    for (struct hb_entry **pp = &p->buckets[e->hash % NBUCKETS]; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    lru_unlink(p, e);
    p->nentries--;
    entry_free(e);
}

/* cache_mu held */
struct hb_entry *cpi_entry_get(struct cp_plane *p, const char *host, const char *service,
                               bool create)
{
    uint64_t h = key_hash(host, service);
    struct hb_entry **slot = &p->buckets[h % NBUCKETS];
    for (struct hb_entry *e = *slot; e; e = e->next)
        if (e->hash == h && strcmp(e->host, host) == 0 && strcmp(e->service, service) == 0)
            return e;
    if (!create)
        return NULL;
    /* full: forget the least recently seen (its row goes at the next expiry pass) */
    while (p->nentries >= p->o.max_tracked_hosts && p->lru_head) {
        entry_remove(p, p->lru_head);
        p->stats.evicted++;
    }
    struct hb_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->host = strdup(host);
    e->service = strdup(service);
    if (!e->host || !e->service) {
        entry_free(e);
        return NULL;
    }
    e->hash = h;
    e->next = *slot;
    *slot = e;
    lru_append(p, e);
    p->nentries++;
    return e;
}

/* Refreshes the cached command of e from c (NULL = none). cache_mu held. */
static void entry_set_command(struct cp_plane *p, struct hb_entry *e, const struct meta_command *c)
{
    free(e->answer);
    e->answer = NULL;
    e->answer_len = 0;
    e->deliver = false;
    e->pending = false;
    e->command_id[0] = '\0';
    e->cmd_loaded = true;
    e->cmd_loaded_at = (int64_t)time(NULL);
    if (!c)
        return;
    struct cp_config cfg;
    struct gp_err err;
    bool have_cfg =
            c->combined_config && p->o.codec->config_parse(c->combined_config, &cfg, &err) == 0;
    bool live = cpi_command_live(c, have_cfg ? &cfg : NULL);
    if (have_cfg)
        cp_config_free(&cfg);
    snprintf(e->command_id, sizeof(e->command_id), "%s", c->command_id);
    if (!live)
        return;
    e->answer = p->o.codec->heartbeat_answer(c->command_id, c->command_type, c->combined_config,
                                             &e->answer_len);
    e->deliver = e->answer != NULL;
    e->pending = c->status && strcmp(c->status, "pending") == 0;
}

int cpi_load_command(struct cp_plane *p, const char *host, const char *service)
{
    struct meta_command c = {0};
    struct gp_err err = {0};
    int rc = meta_command_get(p->db, host, service, &c, &err);
    if (rc && rc != -ENOENT) {
        gp_warn("control: loading command of %s/%s: %s", host, service, err.msg);
        return rc;
    }
    pthread_mutex_lock(&p->cache_mu);
    struct hb_entry *e = cpi_entry_get(p, host, service, true);
    if (e && !e->cmd_loaded)
        entry_set_command(p, e, rc == 0 ? &c : NULL);
    pthread_mutex_unlock(&p->cache_mu);
    meta_command_clear(&c);
    return e ? 0 : -ENOMEM;
}

/* Re-reads the command of (host, service) into the cache. write_mu held. */
void cpi_refresh_entry(struct cp_plane *p, const char *host, const char *service)
{
    struct meta_command c = {0};
    struct gp_err err = {0};
    int rc = meta_command_get(p->db, host, service, &c, &err);
    pthread_mutex_lock(&p->cache_mu);
    struct hb_entry *e = cpi_entry_get(p, host, service, true);
    if (e) {
        if (rc == 0)
            entry_set_command(p, e, &c);
        else if (rc == -ENOENT)
            entry_set_command(p, e, NULL);
        else
            e->cmd_loaded = false; /* reload on next heartbeat */
    }
    pthread_mutex_unlock(&p->cache_mu);
    meta_command_clear(&c);
}

int cpi_lock_host(struct cp_plane *p, const char *host, struct gp_err *err)
{
    char key[META_NAME_MAX + 16];
    snprintf(key, sizeof(key), "gprof-command:%s", host);
    return meta_lock(p->db, key, err);
}

void cpi_cache_free(struct cp_plane *p)
{
    for (size_t b = 0; b < NBUCKETS; b++)
        for (struct hb_entry *e = p->buckets[b], *n; e; e = n) {
            n = e->next;
            entry_free(e);
        }
}

/* ---- heartbeat flushing -------------------------------------------------------------- */

/* A dirty heartbeat taken out of the cache: host/service are copied (an entry may be evicted
 * while the copy is written), the other strings are moved out. */
struct hb_copy {
    struct meta_heartbeat h;
    char ip[64];
};

static void hb_copy_release(struct hb_copy *c)
{
    free(c->h.hostname);
    free(c->h.service_name);
    free(c->h.agent_version);
    free(c->h.last_command_id);
    free(c->h.received_command_ids);
    free(c->h.executed_command_ids);
}

static void give_back(char **dst, char **src)
{
    if (!*dst) {
        *dst = *src;
        *src = NULL;
    }
}

int cp_plane_flush(struct cp_plane *p, struct gp_err *err)
{
    struct hb_copy *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    pthread_mutex_lock(&p->flush_mu); /* one flush at a time */
    pthread_mutex_lock(&p->cache_mu);
    for (size_t b = 0; b < NBUCKETS && rc == 0; b++) {
        for (struct hb_entry *e = p->buckets[b]; e; e = e->next) {
            if (!e->dirty)
                continue;
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 1024;
                struct hb_copy *nv = realloc(v, ncap * sizeof(*nv));
                if (!nv) {
                    rc = -ENOMEM;
                    break;
                }
                v = nv;
                cap = ncap;
            }
            struct hb_copy *c = &v[n];
            memset(c, 0, sizeof(*c));
            c->h.hostname = strdup(e->host);
            c->h.service_name = strdup(e->service);
            if (!c->h.hostname || !c->h.service_name) {
                hb_copy_release(c);
                rc = -ENOMEM;
                break;
            }
            n++;
            memcpy(c->ip, e->ip, sizeof(c->ip));
            c->h.agent_version = e->agent_version;
            c->h.last_command_id = e->last_cmd;
            c->h.received_command_ids = e->received;
            c->h.executed_command_ids = e->executed;
            e->agent_version = e->last_cmd = e->received = e->executed = NULL;
            c->h.status = "active";
            c->h.heartbeat_timestamp = e->ts;
            e->dirty = false;
        }
    }
    pthread_mutex_unlock(&p->cache_mu);
    for (size_t i = 0; i < n; i++)
        v[i].h.ip_address = v[i].ip; /* v no longer moves */
    if (n && rc == 0) {
        rc = meta_begin(p->db, err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = meta_heartbeat_upsert(p->db, &v[i].h, err);
        if (rc == 0)
            rc = meta_commit(p->db, err);
        else
            meta_rollback(p->db);
    }
    if (n && rc) {
        /* put them back so the next flush retries */
        pthread_mutex_lock(&p->cache_mu);
        for (size_t i = 0; i < n; i++) {
            struct hb_entry *e = cpi_entry_get(p, v[i].h.hostname, v[i].h.service_name, false);
            if (!e)
                continue;
            e->dirty = true;
            give_back(&e->agent_version, &v[i].h.agent_version);
            give_back(&e->last_cmd, &v[i].h.last_command_id);
            give_back(&e->received, &v[i].h.received_command_ids);
            give_back(&e->executed, &v[i].h.executed_command_ids);
        }
        pthread_mutex_unlock(&p->cache_mu);
    }
    for (size_t i = 0; i < n; i++)
        hb_copy_release(&v[i]);
    free(v);
    pthread_mutex_unlock(&p->flush_mu);
    if (rc == -ENOMEM)
        gp_err_set(err, rc, "out of memory flushing heartbeats");
    return rc;
}

void *cpi_flusher_main(void *arg)
{
    struct cp_plane *p = arg;
    pthread_mutex_lock(&p->stop_mu);
    while (!p->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned ms = p->o.flush_ms ? p->o.flush_ms : 1000;
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->stop_cv, &p->stop_mu, &ts);
        if (p->stopping)
            break;
        pthread_mutex_unlock(&p->stop_mu);
        struct gp_err err = {0};
        if (cp_plane_flush(p, &err))
            gp_warn("control: writing heartbeats: %s (will retry)", err.msg);
        int64_t now = (int64_t)time(NULL);
        if (now - p->last_expire >= (int64_t)p->o.expire_every_s) {
            p->last_expire = now;
            struct gp_err eerr = {0};
            if (cp_plane_expire(p, now, &eerr))
                gp_warn("control: expiring hosts: %s (will retry)", eerr.msg);
        }
        pthread_mutex_lock(&p->stop_mu);
    }
    pthread_mutex_unlock(&p->stop_mu);
    return NULL;
}

int cp_plane_expire(struct cp_plane *p, int64_t now, struct gp_err *err)
{
    int64_t cutoff = p->o.host_expiry_s > 0 ? now - p->o.host_expiry_s : 0;
    uint64_t gone = 0;
    pthread_mutex_lock(&p->cache_mu);
    if (cutoff > 0)
        for (struct hb_entry *e = p->lru_head, *n; e; e = n) {
            n = e->lru_next;
            if (e->ts < cutoff && !e->dirty) {
                entry_remove(p, e);
                gone++;
            }
        }
    p->stats.expired += gone;
    pthread_mutex_unlock(&p->cache_mu);
    int64_t rows = 0;
    int rc = meta_heartbeat_expire(p->db, cutoff, (int64_t)p->o.max_tracked_hosts, &rows, err);
    pthread_mutex_lock(&p->cache_mu);
    p->stats.rows_expired += (uint64_t)rows;
    pthread_mutex_unlock(&p->cache_mu);
    if (gone || rows)
        gp_info("control: forgot %llu host(s) in memory and %lld stored (unseen for %lld s, or "
                "beyond max_tracked_hosts %zu)",
                (unsigned long long)gone, (long long)rows, (long long)p->o.host_expiry_s,
                p->o.max_tracked_hosts);
    return rc;
}
