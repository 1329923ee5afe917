/* planning.c — profiling requests (one and bulk) become one current command per
 * (host, service): target hosts, limits, merging with the running command (see plane.h). */
#include "coordinator/control/plane_internal.h"
#include "common/timeutil.h"
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
    bool live = cpi_command_live(c, have ? &cfg : NULL);
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
    bool cur_live = have_cur && cpi_command_live(&cur, have_curcfg ? &curcfg : NULL);
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
        *resp = cpi_msg_obj(false,
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
            *resp = cpi_msg_obj(false, "%s", verr.msg);
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
        rc = cpi_rollup_request(p, rid, now, err);
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
            cpi_refresh_entry(p, hosts.v[i], r->service_name);
    json_object *o =
            cpi_msg_obj(true, "%s%s profiling request %s for service '%s' across %zu host%s",
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
        *resp = cpi_msg_obj(false, "%s", verr.msg);
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
        *resp = cpi_msg_obj(
                false, "body must be {\"requests\": [profile requests...], \"dry_run\": bool}");
        *status = 400;
        return 0;
    }
    size_t n = json_object_array_length(reqs);
    if (n == 0 || n > MAX_BULK) {
        *resp = cpi_msg_obj(false, "'requests' must hold 1..%d items, got %zu", MAX_BULK, n);
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
                json_object_is_type(rq, json_type_object) ? cpi_jstr(rq, "service_name") : NULL;
        json_object_object_add(item, "service_name", svc ? json_object_new_string(svc) : NULL);
        json_object *one = NULL;
        int st = 500;
        if (cpi_stopping(p)) {
            /* SIGTERM: the rest is answered, not run, so the service stops in time */
            one = cpi_msg_obj(false, "not submitted: the coordinator is stopping; submit it again");
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
