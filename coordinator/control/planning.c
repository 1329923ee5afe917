/* planning.c — profiling requests (one and bulk) become one current command per
 * (host, service): target hosts, limits, merging with the running command (see plane.h). */
#include "coordinator/control/plane_internal.h"
#include "common/hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

static void new_uuid(char out[40])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Locks every host's command, in one order so two requests never wait for each other. */
static int lock_hosts(struct cp_plane *p, const struct host_list *l, struct gp_err *err)
{
    char **sorted = malloc((l->n ? l->n : 1) * sizeof(*sorted));
    if (!sorted)
        return gp_err_set(err, -ENOMEM, "out of memory");
    memcpy(sorted, l->v, l->n * sizeof(*sorted));
    qsort(sorted, l->n, sizeof(*sorted), cmp_str);
    int rc = 0;
    for (size_t i = 0; i < l->n && rc == 0; i++)
        rc = cpi_lock_host(p, sorted[i], err);
    free(sorted);
    return rc;
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
    struct cp_plane *p;
    struct host_list *busy;
};

static int busy_cb(const struct meta_command *c, void *ctx)
{
    struct busy_ctx *b = ctx;
    if (strcmp(c->command_type, "start") != 0)
        return 0;
    struct cp_config cfg;
    struct gp_err e;
    bool have =
            c->combined_config && b->p->o.codec->config_parse(c->combined_config, &cfg, &e) == 0;
    bool live = cpi_command_live(c, have ? &cfg : NULL);
    if (have)
        cp_config_free(&cfg);
    return live ? host_list_add(b->busy, c->hostname) : 0;
}

static const struct cp_target *find_target(const struct cp_request *r, const char *host)
{
    for (size_t i = 0; i < r->ntargets; i++)
        if (strcmp(r->targets[i].hostname, host) == 0)
            return &r->targets[i];
    return NULL;
}

/* Builds the new command for one host. In a transaction. */
static int plan_host(struct cp_plane *p, const struct cp_request *r, const char *rid,
                     const char *host, int64_t now, bool write, struct cp_host_plan *out,
                     struct gp_err *err)
{
    struct meta_command cur = {0};
    int rc = meta_command_get(p->db, host, r->service_name, &cur, err);
    if (rc && rc != -ENOENT)
        return rc;
    bool have_cur = rc == 0;
    struct cp_config curcfg, newcfg;
    bool have_curcfg = false;
    const struct cp_codec *codec = p->o.codec;
    if (have_cur && cur.combined_config) {
        struct gp_err e2;
        have_curcfg = codec->config_parse(cur.combined_config, &curcfg, &e2) == 0;
    }
    bool cur_live = have_cur && cpi_command_live(&cur, have_curcfg ? &curcfg : NULL);
    char *ids = NULL;
    rc = 0;
    const char **action = &out->action;
    *action = "created";
    if (r->type == CP_START) {
        struct cp_config want;
        rc = cp_config_for_target(r, find_target(r, host), &want, err);
        if (rc == 0) {
            if (cur_live && have_curcfg && curcfg.type == CP_START) {
                rc = cp_merge(&curcfg, &want, &newcfg, err);
                ids = codec->ids_append(cur.request_ids, rid);
                *action = "merged";
            } else {
                newcfg = want;
                memset(&want, 0, sizeof(want));
                ids = codec->ids_append(NULL, rid);
                *action = have_cur ? "replaced" : "created";
            }
            cp_config_free(&want);
        }
    } else if (r->stop_level == CP_STOP_HOST) {
        cp_host_stop(&newcfg);
        ids = codec->ids_append(NULL, rid);
        *action = "stop_host";
    } else {
        const struct cp_target *t = find_target(r, host);
        rc = cp_process_stop(cur_live && have_curcfg ? &curcfg : NULL, t->pids, t->npids, &newcfg,
                             err);
        if (rc == 0) {
            if (newcfg.type == CP_START) {
                ids = codec->ids_append(cur.request_ids, rid);
                *action = "pids_removed";
            } else {
                ids = codec->ids_append(NULL, rid);
                *action = newcfg.stop_level == CP_STOP_HOST ? "stop_host" : "stop_process";
            }
        }
    }
    if (have_curcfg)
        cp_config_free(&curcfg);
    if (rc) {
        meta_command_clear(&cur);
        free(ids);
        return rc;
    }
    char command_id[40];
    new_uuid(command_id);
    char *cfgtext = codec->config_render(&newcfg);
    char *idstext = ids;
    if (!cfgtext || !idstext)
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    if (rc == 0 && write) {
        /* the command being replaced no longer runs its requests on this host */
        if (have_cur && !cpi_is_terminal(cur.status)) {
            rc = meta_execution_cancel_open(p->db, cur.command_id, host, now, err);
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
            rc = cpi_set_executions(p, &nc, "pending", now, err);
        if (rc == 0 && have_cur)
            rc = cpi_rollup_command_requests(p, cur.request_ids, now, err);
    }
    meta_command_clear(&cur);
    free(cfgtext);
    free(idstext);
    if (rc) {
        cp_config_free(&newcfg);
        return rc;
    }
    out->config = newcfg;
    if (write)
        memcpy(out->command_id, command_id, sizeof(command_id));
    return 0;
}

void cp_submission_free(struct cp_submission *s)
{
    for (size_t i = 0; i < s->nhosts; i++) {
        free(s->hosts[i].hostname);
        cp_config_free(&s->hosts[i].config);
    }
    free(s->hosts);
    s->hosts = NULL;
    s->nhosts = 0;
}

/* One request, inside write_mu. */
static int submit_locked(struct cp_plane *p, const struct cp_request *r, int64_t now,
                         struct cp_submission *out, struct gp_err *err)
{
    struct gp_err verr = {0};
    struct host_list hosts = {0}, active = {0}, busy = {0};
    const struct cp_codec *codec = p->o.codec;
    int rc = 0;
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
        cpi_reply(&out->reply, 400, false,
                  "no active hosts for service '%s' (no heartbeat in the last %lld s); "
                  "name target_hosts or start an agent",
                  r->service_name, (long long)(3 * p->o.heartbeat_interval));
        goto out;
    }
    if (r->type == CP_START) {
        struct busy_ctx bc = {.p = p, .busy = &busy};
        if ((rc = meta_command_list(p->db, r->service_name, NULL, busy_cb, &bc, err)))
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
            cpi_reply(&out->reply, 422, false, "%s", verr.msg);
            goto out;
        }
    }
    char rid[40];
    new_uuid(rid);
    if ((rc = meta_begin(p->db, err)))
        goto out;
    if ((rc = lock_hosts(p, &hosts, err))) {
        meta_rollback(p->db);
        goto out;
    }
    if (!r->dry_run) {
        char *thtext = codec->targets_render(r->targets, r->ntargets);
        char *argstext = r->additional_args ? codec->args_render(r->additional_args) : NULL;
        struct meta_request mr = {
                .request_id = rid,
                .service_name = r->service_name,
                .request_type = r->type == CP_STOP ? "stop" : "start",
                .continuous = r->continuous,
                .duration = r->duration,
                .frequency = r->frequency,
                .profiling_mode = (char *)r->mode,
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
    if (rc == 0 && !(out->hosts = calloc(hosts.n, sizeof(*out->hosts))))
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < hosts.n; i++) {
        struct cp_host_plan *hp = &out->hosts[i];
        if (!(hp->hostname = strdup(hosts.v[i]))) {
            rc = gp_err_set(err, -ENOMEM, "out of memory");
            break;
        }
        rc = plan_host(p, r, rid, hosts.v[i], now, !r->dry_run, hp, err);
        if (rc) {
            free(hp->hostname);
            break;
        }
        out->nhosts++;
    }
    if (rc == 0 && !r->dry_run)
        rc = cpi_rollup_request(p, rid, now, err);
    if (rc == 0 && !r->dry_run)
        rc = meta_commit(p->db, err);
    else
        meta_rollback(p->db);
    if (rc) {
        cp_submission_free(out);
        goto out;
    }
    if (!r->dry_run)
        for (size_t i = 0; i < hosts.n; i++)
            cpi_refresh_entry(p, hosts.v[i], r->service_name);
    cpi_reply(&out->reply, 200, true,
              "%s%s profiling request %s for service '%s' across %zu host%s",
              r->dry_run ? "[dry run] " : "", r->type == CP_START ? "Start" : "Stop",
              r->dry_run ? "validated" : "submitted successfully", r->service_name, hosts.n,
              hosts.n == 1 ? "" : "s");
    if (!r->dry_run)
        memcpy(out->request_id, rid, sizeof(rid));
out:
    host_list_free(&hosts);
    host_list_free(&active);
    host_list_free(&busy);
    return rc;
}

int cp_plane_submit(struct cp_plane *p, const struct cp_request *r, int64_t now,
                    struct cp_submission *out, struct gp_err *err)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&p->write_mu);
    int rc = submit_locked(p, r, now, out, err);
    pthread_mutex_unlock(&p->write_mu);
    return rc;
}
