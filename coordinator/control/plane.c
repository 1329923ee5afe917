/* plane.c — control plane: requests -> commands -> heartbeats -> completions (see plane.h). */
#include "coordinator/control/plane.h"
#include "coordinator/control/command.h"
#include "common/timeutil.h"
#include "common/cmd_limits.h"
#include "common/hash.h"
#include "common/ident.h"
#include "common/log.h"
#include "common/strbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#define NBUCKETS 16384

/* Bounds of one heartbeat's fields (bytes); longer ones are refused with 400. */
#define HB_MAX_NAME    255 /* hostname, service_name */
#define HB_MAX_IP      63
#define HB_MAX_VERSION 128
#define HB_MAX_CMD_ID  (GP_CMD_ID_MAX - 1) /* what the agent can hold (cmd_limits.h) */
#define HB_MAX_IDS     1000                /* command ids kept per list (the newest) */

/* One (host, service) as seen by heartbeats, with its current command cached. A cache only:
 * an entry can be dropped at any time (its command is reloaded from the store on demand), at
 * worst losing one heartbeat not yet written. */
struct hb_entry {
    struct hb_entry *next;
    struct hb_entry *lru_prev, *lru_next; /* least recently seen first */
    uint64_t hash;
    char *host, *service;
    /* latest heartbeat, written behind */
    char ip[64];
    char *agent_version, *last_cmd, *received, *executed;
    int64_t ts;
    bool dirty;
    /* in memory only: the agent's running sessions (compact JSON, NULL when it does not say)
     * and the gap between its last two heartbeats, shown by host_status */
    char *sessions;
    int64_t gap;
    /* current command */
    bool cmd_loaded;
    bool deliver; /* returned on heartbeats */
    bool pending; /* status 'pending': first delivery marks it sent */
    char command_id[40];
    char *answer; /* heartbeat response text when deliver */
    size_t answer_len;
};

struct cp_plane {
    struct meta_db *db;
    struct cp_plane_opts o;
    pthread_mutex_t cache_mu; /* the table and entries */
    pthread_mutex_t write_mu; /* serialises command writes; taken before cache_mu */
    pthread_mutex_t flush_mu; /* one heartbeat flush at a time; taken before cache_mu */
    struct hb_entry *buckets[NBUCKETS];
    size_t nentries;
    struct hb_entry *lru_head, *lru_tail;
    struct cp_plane_stats stats; /* cache_mu (tracked: nentries) */
    int64_t last_expire;         /* flusher thread only */
    volatile int shutting_down;  /* read with __atomic */
    pthread_t flusher;
    bool flusher_running;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    bool stopping;
};

static const char NO_CMD[] = "{\"success\":true,\"message\":\"Heartbeat received. No profiling "
                             "commands.\",\"profiling_command\":null,\"command_id\":null}";

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
static void lru_touch(struct cp_plane *p, struct hb_entry *e)
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
static struct hb_entry *entry_get(struct cp_plane *p, const char *host, const char *service,
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

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void replace_str(char **dst, const char *src)
{
    if (*dst && src && strcmp(*dst, src) == 0)
        return;
    free(*dst);
    *dst = dup_or_null(src);
}

static void new_uuid(char out[40])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

static bool is_terminal(const char *status)
{
    return status && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0);
}

/* Whether a stored command still applies on the host: unfinished, or a continuous start (which
 * runs until stopped; gProfiler agents report "completed" when they start it). */
static bool command_live(const struct meta_command *c, const struct cp_config *cfg)
{
    if (!is_terminal(c->status))
        return true;
    return cfg && cfg->type == CP_START && cfg->continuous;
}

/* Builds the heartbeat answer for a command. */
static char *build_answer(const struct meta_command *c, size_t *len)
{
    json_object *cfg = c->combined_config ? json_tokener_parse(c->combined_config) : NULL;
    json_object *o = json_object_new_object();
    json_object *pc = json_object_new_object();
    if (!o || !pc) {
        json_object_put(o);
        json_object_put(pc);
        json_object_put(cfg);
        return NULL;
    }
    json_object_object_add(o, "success", json_object_new_boolean(1));
    json_object_object_add(o, "message",
                           json_object_new_string("Heartbeat received. New "
                                                  "profiling command available."));
    json_object_object_add(pc, "command_type", json_object_new_string(c->command_type));
    json_object_object_add(pc, "combined_config", cfg ? cfg : json_object_new_object());
    json_object_object_add(o, "profiling_command", pc);
    json_object_object_add(o, "command_id", json_object_new_string(c->command_id));
    size_t n;
    const char *s = json_object_to_json_string_length(
            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, s, n + 1);
        *len = n;
    }
    json_object_put(o);
    return out;
}

/* Refreshes the cached command of e from c (NULL = none). cache_mu held. */
static void entry_set_command(struct hb_entry *e, const struct meta_command *c)
{
    free(e->answer);
    e->answer = NULL;
    e->answer_len = 0;
    e->deliver = false;
    e->pending = false;
    e->command_id[0] = '\0';
    e->cmd_loaded = true;
    if (!c)
        return;
    struct cp_config cfg;
    struct gp_err err;
    json_object *jc = c->combined_config ? json_tokener_parse(c->combined_config) : NULL;
    bool have_cfg = jc && cp_config_from_json(jc, &cfg, &err) == 0;
    json_object_put(jc);
    bool live = command_live(c, have_cfg ? &cfg : NULL);
    if (have_cfg)
        cp_config_free(&cfg);
    snprintf(e->command_id, sizeof(e->command_id), "%s", c->command_id);
    if (!live)
        return;
    e->answer = build_answer(c, &e->answer_len);
    e->deliver = e->answer != NULL;
    e->pending = c->status && strcmp(c->status, "pending") == 0;
}

static int load_command(struct cp_plane *p, const char *host, const char *service)
{
    struct meta_command c = {0};
    struct gp_err err = {0};
    int rc = meta_command_get(p->db, host, service, &c, &err);
    if (rc && rc != -ENOENT) {
        gp_warn("control: loading command of %s/%s: %s", host, service, err.msg);
        return rc;
    }
    pthread_mutex_lock(&p->cache_mu);
    struct hb_entry *e = entry_get(p, host, service, true);
    if (e && !e->cmd_loaded)
        entry_set_command(e, rc == 0 ? &c : NULL);
    pthread_mutex_unlock(&p->cache_mu);
    meta_command_clear(&c);
    return e ? 0 : -ENOMEM;
}

/* Re-reads the command of (host, service) into the cache. write_mu held. */
static void refresh_entry(struct cp_plane *p, const char *host, const char *service)
{
    struct meta_command c = {0};
    struct gp_err err = {0};
    int rc = meta_command_get(p->db, host, service, &c, &err);
    pthread_mutex_lock(&p->cache_mu);
    struct hb_entry *e = entry_get(p, host, service, true);
    if (e) {
        if (rc == 0)
            entry_set_command(e, &c);
        else if (rc == -ENOENT)
            entry_set_command(e, NULL);
        else
            e->cmd_loaded = false; /* reload on next heartbeat */
    }
    pthread_mutex_unlock(&p->cache_mu);
    meta_command_clear(&c);
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
            struct hb_entry *e = entry_get(p, v[i].h.hostname, v[i].h.service_name, false);
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

static void *flusher_main(void *arg)
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

int cp_plane_open(struct meta_db *db, const struct cp_plane_opts *o, struct cp_plane **out,
                  struct gp_err *err)
{
    struct cp_plane *p = calloc(1, sizeof(*p));
    if (!p)
        return gp_err_set(err, -ENOMEM, "out of memory");
    p->db = db;
    p->o = *o;
    if (p->o.heartbeat_interval <= 0)
        p->o.heartbeat_interval = 30;
    if (p->o.max_tracked_hosts == 0)
        p->o.max_tracked_hosts = CP_DEFAULT_MAX_TRACKED_HOSTS;
    if (p->o.host_expiry_s == 0)
        p->o.host_expiry_s = CP_DEFAULT_HOST_EXPIRY_S;
    if (p->o.expire_every_s == 0)
        p->o.expire_every_s = 60;
    p->last_expire = (int64_t)time(NULL); /* the first pass after expire_every_s */
    pthread_mutex_init(&p->cache_mu, NULL);
    pthread_mutex_init(&p->write_mu, NULL);
    pthread_mutex_init(&p->flush_mu, NULL);
    pthread_mutex_init(&p->stop_mu, NULL);
    pthread_cond_init(&p->stop_cv, NULL);
    int rc = pthread_create(&p->flusher, NULL, flusher_main, p);
    if (rc) {
        free(p);
        return gp_err_set(err, -rc, "cannot start the heartbeat writer thread: %s", strerror(rc));
    }
    p->flusher_running = true;
    *out = p;
    return 0;
}

void cp_plane_close(struct cp_plane *p)
{
    if (!p)
        return;
    if (p->flusher_running) {
        pthread_mutex_lock(&p->stop_mu);
        p->stopping = true;
        pthread_cond_signal(&p->stop_cv);
        pthread_mutex_unlock(&p->stop_mu);
        pthread_join(p->flusher, NULL);
    }
    struct gp_err err = {0};
    if (cp_plane_flush(p, &err))
        gp_warn("control: final heartbeat write failed: %s", err.msg);
    for (size_t b = 0; b < NBUCKETS; b++)
        for (struct hb_entry *e = p->buckets[b], *n; e; e = n) {
            n = e->next;
            entry_free(e);
        }
    pthread_mutex_destroy(&p->cache_mu);
    pthread_mutex_destroy(&p->write_mu);
    pthread_mutex_destroy(&p->flush_mu);
    free(p);
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

void cp_plane_shutdown(struct cp_plane *p)
{
    if (p)
        __atomic_store_n(&p->shutting_down, 1, __ATOMIC_RELEASE);
}

static bool plane_stopping(struct cp_plane *p)
{
    return __atomic_load_n(&p->shutting_down, __ATOMIC_ACQUIRE) != 0;
}

void cp_plane_stats(struct cp_plane *p, struct cp_plane_stats *out)
{
    pthread_mutex_lock(&p->cache_mu);
    *out = p->stats;
    out->tracked = p->nentries;
    pthread_mutex_unlock(&p->cache_mu);
}

/* ---- helpers ------------------------------------------------------------------------- */

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static json_object *msg_obj(bool success, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static json_object *msg_obj(bool success, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "success", json_object_new_boolean(success));
    json_object_object_add(o, "message", json_object_new_string(msg));
    return o;
}

/* Checks the string field key of o against the identifier rule (common/ident.h) with at most
 * max bytes; false with problem set when present and invalid. An empty string passes only for
 * optional fields (agents send "" for an unknown address or version). */
static bool check_field_ex(json_object *o, const char *key, size_t max, bool optional,
                           char *problem, size_t psz)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return true;
    char why[128];
    if (optional && json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0)
        return true;
    if (!json_object_is_type(v, json_type_string))
        snprintf(why, sizeof(why), "is not a string");
    else if (gp_ident_check(json_object_get_string(v), (size_t)json_object_get_string_len(v), max,
                            why, sizeof(why)) == 0)
        return true;
    snprintf(problem, psz, "field '%s' %s", key, why);
    return false;
}

static bool check_field(json_object *o, const char *key, size_t max, char *problem, size_t psz)
{
    return check_field_ex(o, key, max, false, problem, psz);
}

static bool check_optional(json_object *o, const char *key, size_t max, char *problem, size_t psz)
{
    return check_field_ex(o, key, max, true, problem, psz);
}

/* Checks an optional list of command ids: strings of 1..HB_MAX_CMD_ID identifier bytes. */
static bool check_id_list(json_object *o, const char *key, char *problem, size_t psz)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return true;
    if (!json_object_is_type(v, json_type_array)) {
        snprintf(problem, psz, "field '%s' must be a list of command ids", key);
        return false;
    }
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        char why[128];
        if (!json_object_is_type(e, json_type_string))
            snprintf(why, sizeof(why), "is not a string");
        else if (gp_ident_check(json_object_get_string(e), (size_t)json_object_get_string_len(e),
                                HB_MAX_CMD_ID, why, sizeof(why)) == 0)
            continue;
        snprintf(problem, psz, "field '%s'[%zu] %s", key, i, why);
        return false;
    }
    return true;
}

/* JSON array of strings -> compact text, NULL when absent/invalid. */
static char *id_list_text(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
        return NULL;
    size_t n = json_object_array_length(v);
    /* keep the newest HB_MAX_IDS (agents send everything they remember) */
    size_t from = n > HB_MAX_IDS ? n - HB_MAX_IDS : 0;
    struct strbuf sb = STRBUF_INIT;
    sb_putc(&sb, '[');
    for (size_t i = from; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string))
            continue;
        if (sb.len > 1)
            sb_putc(&sb, ',');
        sb_json_str(&sb, json_object_get_string(e));
    }
    sb_putc(&sb, ']');
    if (sb.oom) {
        sb_free(&sb);
        return NULL;
    }
    return sb_detach(&sb, NULL);
}

/* ---- heartbeat ----------------------------------------------------------------------- */

/* The heartbeat's running_sessions (gprof agents send them; gProfiler agents do not) as compact
 * JSON: at most 4 sessions, each {slot, source, command_id, frequency, duration, npids}.
 * NULL when absent or not an array. */
static char *sessions_text(json_object *body)
{
    json_object *arr, *v;
    if (!json_object_object_get_ex(body, "running_sessions", &arr) ||
        !json_object_is_type(arr, json_type_array))
        return NULL;
    json_object *out = json_object_new_array();
    for (size_t i = 0; out && i < json_object_array_length(arr) && i < 4; i++) {
        json_object *s = json_object_array_get_idx(arr, i), *o;
        const char *slot = jstr(s, "slot");
        if (!slot || (strcmp(slot, "continuous") && strcmp(slot, "adhoc")) ||
            !(o = json_object_new_object()))
            continue;
        json_object_object_add(o, "slot", json_object_new_string(slot));
        static const char *const texts[] = {"source", "command_id"};
        for (size_t k = 0; k < 2; k++) {
            const char *t = jstr(s, texts[k]);
            json_object_object_add(o, texts[k],
                                   t && gp_ident_check(t, strlen(t), 64, NULL, 0) == 0
                                           ? json_object_new_string(t)
                                           : NULL);
        }
        static const char *const ints[] = {"frequency", "duration"};
        for (size_t k = 0; k < 2; k++)
            json_object_object_add(o, ints[k],
                                   json_object_object_get_ex(s, ints[k], &v) &&
                                                   json_object_is_type(v, json_type_int)
                                           ? json_object_new_int(json_object_get_int(v))
                                           : NULL);
        json_object_object_add(o, "npids",
                               json_object_object_get_ex(s, "pids", &v) &&
                                               json_object_is_type(v, json_type_array)
                                       ? json_object_new_int((int)json_object_array_length(v))
                                       : NULL);
        json_object_array_add(out, o);
    }
    char *t = out ? strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN)) : NULL;
    json_object_put(out);
    return t;
}

static int mark_sent(struct cp_plane *p, const char *host, const char *service,
                     const char *command_id, int64_t now, struct gp_err *err);

int cp_plane_heartbeat(struct cp_plane *p, json_object *body, int64_t now, char **resp,
                       size_t *resp_len, int *status, struct gp_err *err)
{
    *resp = NULL;
    *status = 200;
    const char *host = jstr(body, "hostname");
    const char *service = jstr(body, "service_name");
    char problem[300] = "";
    if (!json_object_is_type(body, json_type_object))
        snprintf(problem, sizeof(problem), "heartbeat body must be a JSON object");
    else if (!host)
        snprintf(problem, sizeof(problem), "field 'hostname' is required (a string)");
    else if (!service)
        snprintf(problem, sizeof(problem), "field 'service_name' is required (a string)");
    else if (check_field(body, "hostname", HB_MAX_NAME, problem, sizeof(problem)) &&
             check_field(body, "service_name", HB_MAX_NAME, problem, sizeof(problem)) &&
             check_optional(body, "ip_address", HB_MAX_IP, problem, sizeof(problem)) &&
             check_optional(body, "agent_version", HB_MAX_VERSION, problem, sizeof(problem)) &&
             check_optional(body, "last_command_id", HB_MAX_CMD_ID, problem, sizeof(problem)) &&
             check_id_list(body, "received_command_ids", problem, sizeof(problem)) &&
             check_id_list(body, "executed_command_ids", problem, sizeof(problem)))
        problem[0] = '\0'; /* every field is valid (a check that fails sets problem) */
    if (problem[0]) {
        json_object *o = msg_obj(false, "%s", problem);
        size_t n;
        const char *s = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        *resp = strndup(s, n);
        *resp_len = n;
        json_object_put(o);
        *status = 400;
        return *resp ? 0 : gp_err_set(err, -ENOMEM, "out of memory");
    }
    const char *ip = jstr(body, "ip_address");
    const char *ver = jstr(body, "agent_version");
    const char *last = jstr(body, "last_command_id");
    char *received = id_list_text(body, "received_command_ids");
    char *executed = id_list_text(body, "executed_command_ids");
    char *sessions = sessions_text(body);

    bool need_load = false;
    for (int attempt = 0; attempt < 3; attempt++) {
        pthread_mutex_lock(&p->cache_mu);
        struct hb_entry *e = entry_get(p, host, service, true);
        if (!e) {
            pthread_mutex_unlock(&p->cache_mu);
            free(received);
            free(executed);
            free(sessions);
            return gp_err_set(err, -ENOMEM, "out of memory");
        }
        if (attempt == 0) {
            lru_touch(p, e);
            snprintf(e->ip, sizeof(e->ip), "%s", ip ? ip : "");
            replace_str(&e->agent_version, ver);
            replace_str(&e->last_cmd, last);
            free(e->received);
            e->received = received;
            free(e->executed);
            e->executed = executed;
            received = executed = NULL;
            free(e->sessions);
            e->sessions = sessions;
            sessions = NULL;
            e->gap = e->ts && now > e->ts ? now - e->ts : e->gap;
            e->ts = now;
            e->dirty = true;
        }
        need_load = !e->cmd_loaded;
        if (!need_load && e->pending) {
            char cid[40];
            snprintf(cid, sizeof(cid), "%s", e->command_id);
            pthread_mutex_unlock(&p->cache_mu);
            int rc = mark_sent(p, host, service, cid, now, err);
            if (rc)
                gp_warn("control: marking command %s sent to %s: %s", cid, host, err->msg);
            continue; /* re-read the refreshed entry */
        }
        if (!need_load) {
            if (e->deliver) {
                *resp = malloc(e->answer_len + 1);
                if (*resp) {
                    memcpy(*resp, e->answer, e->answer_len + 1);
                    *resp_len = e->answer_len;
                }
            } else {
                *resp = strdup(NO_CMD);
                *resp_len = sizeof(NO_CMD) - 1;
            }
            pthread_mutex_unlock(&p->cache_mu);
            return *resp ? 0 : gp_err_set(err, -ENOMEM, "out of memory");
        }
        pthread_mutex_unlock(&p->cache_mu);
        load_command(p, host, service);
    }
    /* The store kept failing: answer without a command (the agent retries next interval). */
    *resp = strdup(NO_CMD);
    *resp_len = sizeof(NO_CMD) - 1;
    return *resp ? 0 : gp_err_set(err, -ENOMEM, "out of memory");
}

/* Execution status of every request of cmd on host. Inside a transaction. */
static int set_executions(struct cp_plane *p, const struct meta_command *c, const char *status,
                          int64_t now, struct gp_err *err)
{
    json_object *ids = c->request_ids ? json_tokener_parse(c->request_ids) : NULL;
    int rc = 0;
    size_t n = ids && json_object_is_type(ids, json_type_array) ? json_object_array_length(ids) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *rid = json_object_get_string(json_object_array_get_idx(ids, i));
        if (!rid)
            continue;
        struct meta_execution ex = {.command_id = c->command_id,
                                    .hostname = c->hostname,
                                    .request_id = (char *)rid,
                                    .status = (char *)status,
                                    .started_at = strcmp(status, "assigned") == 0 ? now : 0,
                                    .execution_time = -1};
        rc = meta_execution_upsert(p->db, &ex, err);
    }
    json_object_put(ids);
    return rc;
}

/* Recomputes and stores the status of request rid from its executions. In a transaction. */
static int rollup_cb(const struct meta_row *r, void *ctx)
{
    struct {
        enum cp_req_status v[256];
        size_t n;
    } *acc = ctx;
    enum cp_req_status s;
    if (acc->n < 256 && cp_req_status_parse(meta_row_text(r, 0), &s) == 0)
        acc->v[acc->n++] = s;
    return 0;
}

static int rollup_request(struct cp_plane *p, const char *rid, int64_t now, struct gp_err *err)
{
    struct {
        enum cp_req_status v[256];
        size_t n;
    } acc = {.n = 0};
    /* the newest executions decide (a request rarely spans more than 256 hosts at once) */
    int rc = meta_query(p->db,
                        "SELECT status FROM profiling_executions WHERE request_id = ? "
                        "ORDER BY id DESC LIMIT 256",
                        (struct meta_value[]){META_T(rid)}, 1, rollup_cb, &acc, err);
    if (rc)
        return rc;
    enum cp_req_status st = cp_request_rollup(acc.v, acc.n);
    return meta_request_set_status(p->db, rid, cp_req_status_name(st), now, err);
}

static int rollup_command_requests(struct cp_plane *p, const char *request_ids, int64_t now,
                                   struct gp_err *err)
{
    json_object *ids = request_ids ? json_tokener_parse(request_ids) : NULL;
    int rc = 0;
    size_t n = ids && json_object_is_type(ids, json_type_array) ? json_object_array_length(ids) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *rid = json_object_get_string(json_object_array_get_idx(ids, i));
        if (rid)
            rc = rollup_request(p, rid, now, err);
    }
    json_object_put(ids);
    return rc;
}

static int mark_sent(struct cp_plane *p, const char *host, const char *service,
                     const char *command_id, int64_t now, struct gp_err *err)
{
    pthread_mutex_lock(&p->write_mu);
    struct meta_command c = {0};
    int rc = meta_begin(p->db, err);
    if (rc == 0)
        rc = meta_command_get(p->db, host, service, &c, err);
    if (rc == 0 && strcmp(c.command_id, command_id) == 0 && strcmp(c.status, "pending") == 0) {
        rc = meta_command_set_status(p->db, command_id, host, "sent", now, NULL, err);
        if (rc == 0)
            rc = set_executions(p, &c, "assigned", now, err);
        if (rc == 0)
            rc = rollup_command_requests(p, c.request_ids, now, err);
    }
    if (rc == 0)
        rc = meta_commit(p->db, err);
    else
        meta_rollback(p->db);
    meta_command_clear(&c);
    refresh_entry(p, host, service);
    pthread_mutex_unlock(&p->write_mu);
    return rc;
}

/* ---- profile requests ---------------------------------------------------------------- */

/* A set of hostnames in insertion order, hashed so that a request over a large fleet stays
 * linear in its size. */
struct host_list {
    char **v;
    size_t n, cap;
    size_t *slots; /* open addressing: index + 1 into v, 0 = empty; nslots a power of two */
    size_t nslots;
};

static size_t host_slot(const struct host_list *l, const char *h)
{
    size_t mask = l->nslots - 1;
    size_t i = (size_t)gp_hash_mix(gp_hash_bytes(GP_HASH_SEED, h, strlen(h))) & mask;
    while (l->slots[i] && strcmp(l->v[l->slots[i] - 1], h) != 0)
        i = (i + 1) & mask;
    return i;
}

static bool host_list_has(const struct host_list *l, const char *h)
{
    return l->nslots && l->slots[host_slot(l, h)] != 0;
}

static int host_list_add(struct host_list *l, const char *h)
{
    if (host_list_has(l, h))
        return 0;
    if ((l->n + 1) * 2 > l->nslots) {
        size_t ns = l->nslots ? l->nslots * 2 : 32;
        size_t *nv = calloc(ns, sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        free(l->slots);
        l->slots = nv;
        l->nslots = ns;
        for (size_t i = 0; i < l->n; i++)
            l->slots[host_slot(l, l->v[i])] = i + 1;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **nv = realloc(l->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(h)))
        return -ENOMEM;
    l->slots[host_slot(l, h)] = l->n + 1;
    l->n++;
    return 0;
}

static void host_list_free(struct host_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    free(l->slots);
    memset(l, 0, sizeof(*l));
}

static int active_cb(const char *hostname, void *ctx)
{
    return host_list_add(ctx, hostname);
}

struct busy_ctx {
    struct host_list *busy;
};

static int busy_cb(const struct meta_command *c, void *ctx)
{
    struct host_list *busy = ctx;
    if (strcmp(c->command_type, "start") != 0)
        return 0;
    struct cp_config cfg;
    struct gp_err e;
    json_object *jc = c->combined_config ? json_tokener_parse(c->combined_config) : NULL;
    bool have = jc && cp_config_from_json(jc, &cfg, &e) == 0;
    json_object_put(jc);
    bool live = command_live(c, have ? &cfg : NULL);
    if (have)
        cp_config_free(&cfg);
    return live ? host_list_add(busy, c->hostname) : 0;
}

static json_object *ids_append(const char *existing_json, const char *rid)
{
    json_object *a = existing_json ? json_tokener_parse(existing_json) : NULL;
    if (!a || !json_object_is_type(a, json_type_array)) {
        json_object_put(a);
        a = json_object_new_array();
    }
    if (!a)
        return NULL;
    for (size_t i = 0; i < json_object_array_length(a); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(a, i)), rid) == 0)
            return a;
    json_object_array_add(a, json_object_new_string(rid));
    return a;
}

static const struct cp_target *find_target(const struct cp_request *r, const char *host)
{
    for (size_t i = 0; i < r->ntargets; i++)
        if (strcmp(r->targets[i].hostname, host) == 0)
            return &r->targets[i];
    return NULL;
}

static char *json_text(json_object *o)
{
    if (!o)
        return NULL;
    size_t n;
    const char *s = json_object_to_json_string_length(
            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    return strndup(s, n);
}

/* Builds the new command for one host. In a transaction. */
static int plan_host(struct cp_plane *p, const struct cp_request *r, const char *rid,
                     const char *host, int64_t now, bool write, char command_id[40],
                     json_object **config_out, const char **action, struct gp_err *err)
{
    struct meta_command cur = {0};
    int rc = meta_command_get(p->db, host, r->service_name, &cur, err);
    if (rc && rc != -ENOENT)
        return rc;
    bool have_cur = rc == 0;
    struct cp_config curcfg, newcfg;
    bool have_curcfg = false;
    if (have_cur) {
        json_object *jc = cur.combined_config ? json_tokener_parse(cur.combined_config) : NULL;
        struct gp_err e2;
        have_curcfg = jc && cp_config_from_json(jc, &curcfg, &e2) == 0;
        json_object_put(jc);
    }
    bool cur_live = have_cur && command_live(&cur, have_curcfg ? &curcfg : NULL);
    json_object *ids = NULL;
    rc = 0;
    *action = "created";
    if (r->type == CP_START) {
        struct cp_config want;
        rc = cp_config_for_target(r, find_target(r, host), &want, err);
        if (rc == 0) {
            if (cur_live && have_curcfg && curcfg.type == CP_START) {
                rc = cp_merge(&curcfg, &want, &newcfg, err);
                ids = ids_append(cur.request_ids, rid);
                *action = "merged";
            } else {
                newcfg = want;
                memset(&want, 0, sizeof(want));
                ids = ids_append(NULL, rid);
                *action = have_cur ? "replaced" : "created";
            }
            cp_config_free(&want);
        }
    } else if (r->stop_level == CP_STOP_HOST) {
        cp_host_stop(&newcfg);
        ids = ids_append(NULL, rid);
        *action = "stop_host";
    } else {
        const struct cp_target *t = find_target(r, host);
        rc = cp_process_stop(cur_live && have_curcfg ? &curcfg : NULL, t->pids, t->npids, &newcfg,
                             err);
        if (rc == 0) {
            if (newcfg.type == CP_START) {
                ids = ids_append(cur.request_ids, rid);
                *action = "pids_removed";
            } else {
                ids = ids_append(NULL, rid);
                *action = newcfg.stop_level == CP_STOP_HOST ? "stop_host" : "stop_process";
            }
        }
    }
    if (have_curcfg)
        cp_config_free(&curcfg);
    if (rc) {
        meta_command_clear(&cur);
        json_object_put(ids);
        return rc;
    }
    new_uuid(command_id);
    json_object *cfgj = cp_config_to_json(&newcfg);
    char *cfgtext = json_text(cfgj);
    char *idstext = json_text(ids);
    if (!cfgj || !cfgtext || !idstext)
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    if (rc == 0 && write) {
        /* the command being replaced no longer runs its requests on this host */
        if (have_cur && !is_terminal(cur.status)) {
            rc = meta_exec(p->db,
                           "UPDATE profiling_executions SET status = 'cancelled', updated_at = ? "
                           "WHERE command_id = ? AND hostname = ? AND status IN ('pending', "
                           "'assigned')",
                           (struct meta_value[]){META_I(now), META_T(cur.command_id), META_T(host)},
                           3, NULL, err);
        }
        struct meta_command nc = {.command_id = command_id,
                                  .hostname = (char *)host,
                                  .service_name = r->service_name,
                                  .command_type = newcfg.type == CP_STOP ? "stop" : "start",
                                  .request_ids = idstext,
                                  .combined_config = cfgtext,
                                  .status = "pending",
                                  .created_at = now,
                                  .updated_at = now,
                                  .execution_time = -1};
        if (rc == 0)
            rc = meta_command_put(p->db, &nc, err);
        if (rc == 0)
            rc = set_executions(p, &nc, "pending", now, err);
        if (rc == 0 && have_cur)
            rc = rollup_command_requests(p, cur.request_ids, now, err);
    }
    cp_config_free(&newcfg);
    meta_command_clear(&cur);
    json_object_put(ids);
    free(cfgtext);
    free(idstext);
    if (rc) {
        json_object_put(cfgj);
        return rc;
    }
    *config_out = cfgj;
    return 0;
}

/* One request, inside write_mu. *resp gets the answer. */
static int submit_locked(struct cp_plane *p, struct cp_request *r, int64_t now, json_object **resp,
                         int *status, struct gp_err *err)
{
    struct gp_err verr = {0};
    struct host_list hosts = {0}, active = {0}, busy = {0};
    int rc = 0;
    json_object *results = NULL;
    int64_t since = now - 3 * p->o.heartbeat_interval;
    if ((rc = cp_plane_flush(p, err)))
        goto out;
    rc = meta_heartbeat_hosts_active(p->db, r->service_name, since, active_cb, &active, err);
    pthread_mutex_lock(&p->cache_mu);
    p->stats.hosts_scan_steps = meta_last_query_fullscan_steps();
    pthread_mutex_unlock(&p->cache_mu);
    if (rc)
        goto out;
    if (r->ntargets) {
        for (size_t i = 0; i < r->ntargets && rc == 0; i++)
            rc = host_list_add(&hosts, r->targets[i].hostname);
    } else {
        for (size_t i = 0; i < active.n && rc == 0; i++)
            rc = host_list_add(&hosts, active.v[i]);
    }
    if (rc) {
        gp_err_set(err, rc, "out of memory");
        goto out;
    }
    if (hosts.n == 0) {
        *resp = msg_obj(false,
                        "no active hosts for service '%s' (no heartbeat in the last %lld s); "
                        "name target_hosts or start an agent",
                        r->service_name, (long long)(3 * p->o.heartbeat_interval));
        *status = 400;
        goto out;
    }
    if (r->type == CP_START) {
        if ((rc = meta_command_list(p->db, r->service_name, NULL, busy_cb, &busy, err)))
            goto out;
        size_t busy_outside = 0;
        for (size_t i = 0; i < busy.n; i++)
            if (!host_list_has(&hosts, busy.v[i]) && host_list_has(&active, busy.v[i]))
                busy_outside++;
        size_t active_n = active.n;
        for (size_t i = 0; i < hosts.n; i++)
            if (!host_list_has(&active, hosts.v[i]))
                active_n++; /* a named host counts as part of the fleet */
        if (cp_check_limits(hosts.n, p->o.max_hosts_per_request, busy_outside, active_n,
                            p->o.max_share_pct, &verr)) {
            *resp = msg_obj(false, "%s", verr.msg);
            *status = 422;
            goto out;
        }
    }
    char rid[40];
    new_uuid(rid);
    if ((rc = meta_begin(p->db, err)))
        goto out;
    if (!r->dry_run) {
        json_object *th = json_object_new_object();
        for (size_t i = 0; th && i < r->ntargets; i++) {
            json_object *a = NULL;
            if (r->targets[i].npids) {
                a = json_object_new_array();
                for (size_t k = 0; a && k < r->targets[i].npids; k++)
                    json_object_array_add(a, json_object_new_int(r->targets[i].pids[k]));
            }
            json_object_object_add(th, r->targets[i].hostname, a);
        }
        char *thtext = json_text(th);
        char *argstext = r->additional_args ? json_text(r->additional_args) : NULL;
        json_object_put(th);
        struct meta_request mr = {
                .request_id = rid,
                .service_name = r->service_name,
                .request_type = r->type == CP_STOP ? "stop" : "start",
                .continuous = r->continuous,
                .duration = r->duration,
                .frequency = r->frequency,
                .profiling_mode = r->mode,
                .target_hosts = thtext ? thtext : "{}",
                .stop_level = r->type == CP_STOP
                                      ? (r->stop_level == CP_STOP_HOST ? "host" : "process")
                                      : NULL,
                .additional_args = argstext,
                .status = "pending",
                .created_at = now,
                .updated_at = now,
                .estimated_completion_time =
                        r->type == CP_START && !r->continuous ? now + r->duration : 0};
        rc = meta_request_insert(p->db, &mr, err);
        free(thtext);
        free(argstext);
    }
    json_object *cmd_ids = json_object_new_array();
    results = json_object_new_array();
    for (size_t i = 0; rc == 0 && i < hosts.n; i++) {
        char cid[40];
        json_object *cfg = NULL;
        const char *action = "";
        rc = plan_host(p, r, rid, hosts.v[i], now, !r->dry_run, cid, &cfg, &action, err);
        if (rc)
            break;
        json_object *it = json_object_new_object();
        json_object_object_add(it, "hostname", json_object_new_string(hosts.v[i]));
        json_object_object_add(it, "action", json_object_new_string(action));
        if (!r->dry_run) {
            json_object_object_add(it, "command_id", json_object_new_string(cid));
            json_object_array_add(cmd_ids, json_object_new_string(cid));
        }
        json_object_object_add(it, "combined_config", cfg);
        json_object_array_add(results, it);
    }
    if (rc == 0 && !r->dry_run)
        rc = rollup_request(p, rid, now, err);
    if (rc == 0 && !r->dry_run)
        rc = meta_commit(p->db, err);
    else
        meta_rollback(p->db);
    if (rc) {
        json_object_put(cmd_ids);
        goto out;
    }
    if (!r->dry_run)
        for (size_t i = 0; i < hosts.n; i++)
            refresh_entry(p, hosts.v[i], r->service_name);
    json_object *o = msg_obj(true, "%s%s profiling request %s for service '%s' across %zu host%s",
                             r->dry_run ? "[dry run] " : "", r->type == CP_START ? "Start" : "Stop",
                             r->dry_run ? "validated" : "submitted successfully", r->service_name,
                             hosts.n, hosts.n == 1 ? "" : "s");
    json_object_object_add(o, "request_id", r->dry_run ? NULL : json_object_new_string(rid));
    json_object_object_add(o, "command_ids", cmd_ids);
    if (r->type == CP_START && !r->continuous) {
        char ts[32];
        tu_format(now + r->duration, ts, sizeof(ts));
        json_object_object_add(o, "estimated_completion_time", json_object_new_string(ts));
    } else {
        json_object_object_add(o, "estimated_completion_time", NULL);
    }
    json_object_object_add(o, "dry_run", json_object_new_boolean(r->dry_run));
    json_object_object_add(o, "hosts", results);
    results = NULL;
    *resp = o;
    *status = 200;
out:
    json_object_put(results);
    host_list_free(&hosts);
    host_list_free(&active);
    host_list_free(&busy);
    return rc;
}

int cp_plane_profile_request(struct cp_plane *p, json_object *body, bool dry_run, int64_t now,
                             json_object **resp, int *status, struct gp_err *err)
{
    struct cp_request r;
    struct gp_err verr = {0};
    *resp = NULL;
    if (cp_request_parse(body, &r, &verr) != 0) {
        *resp = msg_obj(false, "%s", verr.msg);
        *status = verr.code == -ENOMEM ? 500 : 400;
        return 0;
    }
    r.dry_run = r.dry_run || dry_run;
    pthread_mutex_lock(&p->write_mu);
    int rc = submit_locked(p, &r, now, resp, status, err);
    pthread_mutex_unlock(&p->write_mu);
    cp_request_free(&r);
    return rc;
}

#define MAX_BULK 1000

int cp_plane_bulk_request(struct cp_plane *p, json_object *body, int64_t now, json_object **resp,
                          int *status, struct gp_err *err)
{
    json_object *reqs, *v;
    *resp = NULL;
    if (!json_object_is_type(body, json_type_object) ||
        !json_object_object_get_ex(body, "requests", &reqs) ||
        !json_object_is_type(reqs, json_type_array)) {
        *resp = msg_obj(false,
                        "body must be {\"requests\": [profile requests...], \"dry_run\": bool}");
        *status = 400;
        return 0;
    }
    size_t n = json_object_array_length(reqs);
    if (n == 0 || n > MAX_BULK) {
        *resp = msg_obj(false, "'requests' must hold 1..%d items, got %zu", MAX_BULK, n);
        *status = 400;
        return 0;
    }
    bool dry = json_object_object_get_ex(body, "dry_run", &v) && json_object_get_boolean(v);
    json_object *results = json_object_new_array();
    size_t ok = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_object *item = json_object_new_object();
        json_object *rq = json_object_array_get_idx(reqs, i);
        json_object_object_add(item, "index", json_object_new_int((int)i));
        const char *svc =
                json_object_is_type(rq, json_type_object) ? jstr(rq, "service_name") : NULL;
        json_object_object_add(item, "service_name", svc ? json_object_new_string(svc) : NULL);
        json_object *one = NULL;
        int st = 500;
        if (plane_stopping(p)) {
            /* SIGTERM: the rest is answered, not run, so the service stops in time */
            one = msg_obj(false, "not submitted: the coordinator is stopping; submit it again");
            st = 503;
            pthread_mutex_lock(&p->cache_mu);
            p->stats.bulk_interrupted++;
            pthread_mutex_unlock(&p->cache_mu);
        } else {
            rc = cp_plane_profile_request(p, rq, dry, now, &one, &st, err);
        }
        if (rc) {
            json_object_put(item);
            break;
        }
        bool success = st == 200;
        ok += success;
        json_object_object_add(item, "success", json_object_new_boolean(success));
        json_object_object_add(item, "status", json_object_new_int(st));
        if (success) {
            json_object_object_add(item, "response", one);
            json_object_object_add(item, "error", NULL);
        } else {
            json_object *m;
            json_object_object_add(item, "response", NULL);
            json_object_object_add(item, "error",
                                   one && json_object_object_get_ex(one, "message", &m)
                                           ? json_object_get(m)
                                           : NULL);
            json_object_put(one);
        }
        json_object_array_add(results, item);
    }
    if (rc) {
        json_object_put(results);
        return rc;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "total_submitted", json_object_new_int((int)n));
    json_object_object_add(o, "successful_count", json_object_new_int((int)ok));
    json_object_object_add(o, "failed_count", json_object_new_int((int)(n - ok)));
    json_object_object_add(o, "dry_run", json_object_new_boolean(dry));
    json_object_object_add(o, "results", results);
    *resp = o;
    *status = 200;
    return 0;
}

/* ---- completion ---------------------------------------------------------------------- */

struct exec_count {
    size_t n;
    char status[16];
};

static int exec_cb(const struct meta_execution *e, void *ctx)
{
    struct exec_count *c = ctx;
    c->n++;
    snprintf(c->status, sizeof(c->status), "%s", e->status);
    return 0;
}

struct rid_acc {
    char ids[16][40];
    size_t n;
};

static int rid_cb(const struct meta_execution *e, void *ctx)
{
    struct rid_acc *a = ctx;
    if (a->n < 16)
        snprintf(a->ids[a->n++], 40, "%s", e->request_id);
    return 0;
}

/* Whether every request that executions of (cid, host) name belongs to service. In a
 * transaction. */
static int executions_of_service(struct cp_plane *p, const char *cid, const char *host,
                                 const char *service, bool *same, struct gp_err *err)
{
    struct rid_acc acc = {.n = 0};
    int rc = meta_execution_list(p->db, cid, host, rid_cb, &acc, err);
    *same = true;
    for (size_t i = 0; rc == 0 && i < acc.n && *same; i++) {
        struct meta_request r = {0};
        rc = meta_request_get(p->db, acc.ids[i], &r, err);
        if (rc == 0)
            *same = strcmp(r.service_name, service) == 0;
        meta_request_clear(&r);
    }
    return rc;
}

int cp_plane_completion(struct cp_plane *p, json_object *body, const char *token_service,
                        int64_t now, json_object **resp, int *status, struct gp_err *err)
{
    *resp = NULL;
    const char *cid = jstr(body, "command_id");
    const char *host = jstr(body, "hostname");
    const char *st = jstr(body, "status");
    json_object *v;
    if (!json_object_is_type(body, json_type_object) || !cid || !host) {
        *resp = msg_obj(false, "fields 'command_id' and 'hostname' are required strings");
        *status = 400;
        return 0;
    }
    char problem[300];
    if (!check_field(body, "command_id", HB_MAX_CMD_ID, problem, sizeof(problem)) ||
        !check_field(body, "hostname", HB_MAX_NAME, problem, sizeof(problem))) {
        *resp = msg_obj(false, "%s", problem);
        *status = 400;
        return 0;
    }
    if (!st || (strcmp(st, "completed") && strcmp(st, "failed"))) {
        *resp = msg_obj(false, "field 'status' must be \"completed\" or \"failed\"");
        *status = 400;
        return 0;
    }
    int64_t exec_time = -1;
    if (json_object_object_get_ex(body, "execution_time", &v) &&
        !json_object_is_type(v, json_type_null)) {
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) {
            *resp = msg_obj(false, "field 'execution_time' must be a number of seconds");
            *status = 400;
            return 0;
        }
        exec_time = json_object_get_int64(v);
        if (exec_time < 0)
            exec_time = 0;
    }
    const char *emsg = jstr(body, "error_message");
    const char *rpath = jstr(body, "results_path");

    pthread_mutex_lock(&p->write_mu);
    struct meta_command c = {0};
    struct exec_count ec = {0};
    char service[256] = "";
    int rc = meta_begin(p->db, err);
    if (rc)
        goto out_unlock;
    int grc = meta_command_get_by_id(p->db, cid, host, &c, err);
    if (grc && grc != -ENOENT) {
        rc = grc;
        goto out_rollback;
    }
    if ((rc = meta_execution_list(p->db, cid, host, exec_cb, &ec, err)))
        goto out_rollback;
    bool foreign = false; /* a command of a service the caller's token does not cover */
    if (token_service && grc == 0)
        foreign = strcmp(c.service_name, token_service) != 0;
    else if (token_service && ec.n) {
        bool same;
        if ((rc = executions_of_service(p, cid, host, token_service, &same, err)))
            goto out_rollback;
        foreign = !same;
    }
    if (foreign) {
        meta_rollback(p->db);
        *resp = msg_obj(false, "Command %s not found for host %s of service %s", cid, host,
                        token_service);
        *status = 404;
        goto out_unlock;
    }
    if (grc == -ENOENT && ec.n == 0) {
        meta_rollback(p->db);
        *resp = msg_obj(false, "Command %s not found for host %s", cid, host);
        *status = 404;
        goto out_unlock;
    }
    if (grc == 0) {
        snprintf(service, sizeof(service), "%s", c.service_name);
        enum cp_cmd_status from, to = strcmp(st, "completed") == 0 ? CMD_COMPLETED : CMD_FAILED;
        if (cp_cmd_status_parse(c.status, &from) != 0)
            from = CMD_SENT;
        if (from == CMD_PENDING)
            from = CMD_SENT; /* delivered: the agent would not know it otherwise */
        if (from == to) {
            /* a retried report: idempotent, nothing changes */
            meta_rollback(p->db);
            *resp = msg_obj(true, "Command completion for %s was already recorded", cid);
            *status = 200;
            goto out_unlock;
        }
        if (!cp_cmd_transition_ok(from, to)) {
            meta_rollback(p->db);
            *resp = msg_obj(false, "Command %s is in status '%s', expected 'sent'", cid, c.status);
            *status = 409;
            goto out_unlock;
        }
        if ((rc = meta_command_complete(p->db, cid, host, st, now, exec_time, emsg, rpath, NULL,
                                        err)))
            goto out_rollback;
    }
    if ((rc = meta_execution_complete(p->db, cid, host, st, now, exec_time, emsg, rpath, NULL,
                                      err)))
        goto out_rollback;
    if (grc == 0) {
        if ((rc = rollup_command_requests(p, c.request_ids, now, err)))
            goto out_rollback;
    } else {
        /* a superseded command: roll up the requests its executions name */
        struct rid_acc acc = {.n = 0};
        if ((rc = meta_execution_list(p->db, cid, host, rid_cb, &acc, err)))
            goto out_rollback;
        for (size_t i = 0; i < acc.n && rc == 0; i++)
            rc = rollup_request(p, acc.ids[i], now, err);
        if (rc)
            goto out_rollback;
    }
    if ((rc = meta_commit(p->db, err)))
        goto out_unlock;
    if (service[0])
        refresh_entry(p, host, service);
    *resp = msg_obj(true, "Command completion recorded for %s", cid);
    *status = 200;
    goto out_unlock;
out_rollback:
    meta_rollback(p->db);
out_unlock:
    pthread_mutex_unlock(&p->write_mu);
    meta_command_clear(&c);
    return rc;
}

/* ---- host status --------------------------------------------------------------------- */

struct hs_ctx {
    json_object *arr;
    int64_t now, interval;
    size_t active, total;
};

static int hs_cb(const struct meta_host_status *hs, void *ctx)
{
    struct hs_ctx *c = ctx;
    const struct meta_heartbeat *h = hs->host;
    json_object *o = json_object_new_object();
    if (!o)
        return -ENOMEM;
    json_object_object_add(o, "id", json_object_new_int64(h->id));
    json_object_object_add(o, "service_name", json_object_new_string(h->service_name));
    json_object_object_add(o, "hostname", json_object_new_string(h->hostname));
    json_object_object_add(o, "ip_address",
                           json_object_new_string(h->ip_address ? h->ip_address : ""));
    json_object_object_add(o, "agent_version",
                           h->agent_version ? json_object_new_string(h->agent_version) : NULL);
    json_object *pids = json_object_new_array();
    const char *ctype = "N/A", *pstatus = "stopped";
    if (hs->command) {
        ctype = hs->command->command_type;
        pstatus = hs->command->status;
        json_object *cfg = hs->command->combined_config
                                   ? json_tokener_parse(hs->command->combined_config)
                                   : NULL;
        json_object *pv;
        if (cfg && json_object_object_get_ex(cfg, "pids", &pv) &&
            json_object_is_type(pv, json_type_array))
            for (size_t i = 0; i < json_object_array_length(pv); i++)
                json_object_array_add(pids, json_object_get(json_object_array_get_idx(pv, i)));
        json_object_put(cfg);
        json_object_object_add(o, "command_id", json_object_new_string(hs->command->command_id));
    } else {
        json_object_object_add(o, "command_id", NULL);
    }
    json_object_object_add(o, "pids", pids);
    json_object_object_add(o, "command_type", json_object_new_string(ctype));
    json_object_object_add(o, "profiling_status", json_object_new_string(pstatus));
    const char *live = cp_host_liveness(h->heartbeat_timestamp, c->now, c->interval);
    json_object_object_add(o, "status", json_object_new_string(live));
    char ts[32];
    tu_format(h->heartbeat_timestamp, ts, sizeof(ts));
    json_object_object_add(o, "heartbeat_timestamp", json_object_new_string(ts));
    json_object_array_add(c->arr, o);
    c->total++;
    c->active += strcmp(live, "active") == 0;
    return 0;
}

/* What only the cache knows, per host: running_sessions (null when its agent does not report
 * them, or the coordinator restarted since its last heartbeat) and heartbeat_interval_s (the
 * gap between its last two heartbeats, else the configured interval). */
static void add_cached(struct cp_plane *p, json_object *arr)
{
    pthread_mutex_lock(&p->cache_mu);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        const char *host = jstr(o, "hostname"), *service = jstr(o, "service_name");
        struct hb_entry *e = host && service ? entry_get(p, host, service, false) : NULL;
        json_object_object_add(o, "running_sessions",
                               e && e->sessions ? json_tokener_parse(e->sessions) : NULL);
        json_object_object_add(
                o, "heartbeat_interval_s",
                json_object_new_int64(e && e->gap > 0 ? e->gap : p->o.heartbeat_interval));
    }
    pthread_mutex_unlock(&p->cache_mu);
}

int cp_plane_host_status(struct cp_plane *p, const struct meta_host_filter *f, int64_t now,
                         json_object **resp, int *status, struct gp_err *err)
{
    int rc = cp_plane_flush(p, err);
    if (rc)
        return rc;
    struct hs_ctx c = {
            .arr = json_object_new_array(), .now = now, .interval = p->o.heartbeat_interval};
    if (!c.arr)
        return gp_err_set(err, -ENOMEM, "out of memory");
    rc = meta_host_list(p->db, f, hs_cb, &c, err);
    if (rc) {
        json_object_put(c.arr);
        return rc;
    }
    add_cached(p, c.arr);
    *resp = c.arr;
    *status = 200;
    return 0;
}

/* ---- request status ------------------------------------------------------------------ */

static int ex_json_cb(const struct meta_row *r, void *ctx)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "command_id", json_object_new_string(meta_row_text(r, 0)));
    json_object_object_add(o, "hostname", json_object_new_string(meta_row_text(r, 1)));
    json_object_object_add(o, "status", json_object_new_string(meta_row_text(r, 2)));
    json_object_object_add(
            o, "execution_time",
            r->cols[3].type == META_NULL ? NULL : json_object_new_int64(meta_row_int(r, 3)));
    json_object_object_add(o, "error_message",
                           meta_row_text(r, 4) ? json_object_new_string(meta_row_text(r, 4))
                                               : NULL);
    json_object_object_add(o, "results_path",
                           meta_row_text(r, 5) ? json_object_new_string(meta_row_text(r, 5))
                                               : NULL);
    json_object_array_add(ctx, o);
    return 0;
}

int cp_plane_request_status(struct cp_plane *p, const char *request_id, json_object **resp,
                            int *status, struct gp_err *err)
{
    struct meta_request r = {0};
    int rc = meta_request_get(p->db, request_id, &r, err);
    if (rc == -ENOENT) {
        *resp = msg_obj(false, "no profiling request %s", request_id);
        *status = 404;
        return 0;
    }
    if (rc)
        return rc;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "request_id", json_object_new_string(r.request_id));
    json_object_object_add(o, "service_name", json_object_new_string(r.service_name));
    json_object_object_add(o, "request_type", json_object_new_string(r.request_type));
    json_object_object_add(o, "status", json_object_new_string(r.status));
    json_object *ex = json_object_new_array();
    rc = meta_query(p->db,
                    "SELECT command_id, hostname, status, execution_time, error_message, "
                    "results_path FROM profiling_executions WHERE request_id = ? ORDER BY id",
                    (struct meta_value[]){META_T(request_id)}, 1, ex_json_cb, ex, err);
    json_object_object_add(o, "executions", ex);
    meta_request_clear(&r);
    if (rc) {
        json_object_put(o);
        return rc;
    }
    *resp = o;
    *status = 200;
    return 0;
}
