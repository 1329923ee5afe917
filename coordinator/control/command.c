/* command.c — pure control-plane rules (see command.h). */
#include "coordinator/control/command.h"
#include "common/cmd_limits.h"
#include "common/ident.h"

#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void cp_config_init(struct cp_config *c)
{
    memset(c, 0, sizeof(*c));
    c->type = CP_START;
    c->duration = 60;
    c->frequency = 11;
    strcpy(c->mode, "cpu");
}

void cp_config_free(struct cp_config *c)
{
    if (!c)
        return;
    free(c->pids);
    cp_args_free(c->extra);
    c->pids = NULL;
    c->npids = 0;
    c->extra = NULL;
}

int cp_config_copy(struct cp_config *dst, const struct cp_config *src)
{
    *dst = *src;
    dst->pids = NULL;
    dst->extra = NULL;
    if (src->npids) {
        dst->pids = malloc(src->npids * sizeof(int32_t));
        if (!dst->pids)
            return -ENOMEM;
        memcpy(dst->pids, src->pids, src->npids * sizeof(int32_t));
    }
    if (src->extra) {
        if (cp_args_copy(src->extra, &dst->extra)) {
            free(dst->pids);
            dst->pids = NULL;
            return -ENOMEM;
        }
    }
    return 0;
}

void cp_request_free(struct cp_request *r)
{
    if (!r)
        return;
    free(r->service_name);
    for (size_t i = 0; i < r->ntargets; i++) {
        free(r->targets[i].hostname);
        free(r->targets[i].pids);
    }
    free(r->targets);
    cp_args_free(r->additional_args);
    memset(r, 0, sizeof(*r));
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

size_t cp_pids_normalize(int32_t *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_i32);
    size_t w = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[w - 1])
            v[w++] = v[i];
    return w;
}

int cp_pids_union(const int32_t *a, size_t na, const int32_t *b, size_t nb, int32_t **out,
                  size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (na + nb == 0)
        return 0;
    int32_t *v = malloc((na + nb) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    if (na)
        memcpy(v, a, na * sizeof(*v));
    if (nb)
        memcpy(v + na, b, nb * sizeof(*v));
    *nout = cp_pids_normalize(v, na + nb);
    *out = v;
    return 0;
}

int cp_pids_minus(const int32_t *a, size_t na, const int32_t *b, size_t nb, int32_t **out,
                  size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (na == 0)
        return 0;
    int32_t *v = malloc(na * sizeof(*v));
    if (!v)
        return -ENOMEM;
    size_t w = 0;
    for (size_t i = 0; i < na; i++) {
        bool drop = false;
        for (size_t j = 0; j < nb; j++)
            if (a[i] == b[j]) {
                drop = true;
                break;
            }
        if (!drop)
            v[w++] = a[i];
    }
    w = cp_pids_normalize(v, w);
    if (w == 0) {
        free(v);
        return 0;
    }
    *out = v;
    *nout = w;
    return 0;
}

/* ---- request rules ------------------------------------------------------------------ */

bool cp_hostname_ok(const char *h, size_t len, char *why, size_t whysz)
{
    if (gp_ident_check(h, len, 255, why, whysz) != 0)
        return false;
    if (strcspn(h, " /\\") != len) {
        snprintf(why, whysz, "contains a space, '/' or '\\'");
        return false;
    }
    return true;
}

const char *cp_stop_level_name(enum cp_stop_level l)
{
    return l == CP_STOP_HOST ? "host" : l == CP_STOP_PROCESS ? "process" : NULL;
}

int cp_request_check(const struct cp_request *r, struct gp_err *err)
{
    if (r->type != CP_STOP)
        return 0;
    if (r->ntargets == 0)
        return gp_err_set(err, -EINVAL, "Stop commands require specific target hosts");
    size_t total_pids = 0;
    for (size_t i = 0; i < r->ntargets; i++) {
        total_pids += r->targets[i].npids;
        if (r->stop_level == CP_STOP_PROCESS && r->targets[i].npids == 0)
            return gp_err_set(err, -EINVAL,
                              "process-level stop needs PIDs for every target host "
                              "('%.80s' has none); use \"stop_level\":\"host\" to stop "
                              "everything",
                              r->targets[i].hostname);
    }
    if (r->stop_level != CP_STOP_PROCESS && total_pids)
        return gp_err_set(err, -EINVAL,
                          "host-level stop must not name PIDs; use \"stop_level\":\"process\"");
    return 0;
}

int cp_config_for_target(const struct cp_request *r, const struct cp_target *t,
                         struct cp_config *out, struct gp_err *err)
{
    cp_config_init(out);
    out->type = CP_START;
    out->continuous = r->continuous;
    out->duration = r->duration;
    out->frequency = r->frequency;
    strcpy(out->mode, r->mode);
    if (t && t->npids) {
        out->pids = malloc(t->npids * sizeof(int32_t));
        if (!out->pids)
            return gp_err_set(err, -ENOMEM, "out of memory");
        memcpy(out->pids, t->pids, t->npids * sizeof(int32_t));
        out->npids = t->npids;
    }
    if (r->additional_args) {
        if (cp_args_copy(r->additional_args, &out->extra)) {
            cp_config_free(out);
            return gp_err_set(err, -ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* ---- merge and stop ----------------------------------------------------------------- */

int cp_merge(const struct cp_config *cur, const struct cp_config *in, struct cp_config *out,
             struct gp_err *err)
{
    if (cur->type != CP_START || in->type != CP_START)
        return gp_err_set(err, -EINVAL, "only start commands merge");
    cp_config_init(out);
    out->type = CP_START;
    out->continuous = cur->continuous || in->continuous;
    out->duration = cur->duration > in->duration ? cur->duration : in->duration;
    out->frequency = cur->frequency > in->frequency ? cur->frequency : in->frequency;
    strcpy(out->mode, in->mode);
    out->stop_level = in->stop_level;
    /* An empty pid set means "every process", which absorbs any explicit set. */
    if (cur->npids && in->npids) {
        if (cp_pids_union(cur->pids, cur->npids, in->pids, in->npids, &out->pids, &out->npids))
            return gp_err_set(err, -ENOMEM, "out of memory");
    }
    if (cur->extra || in->extra) {
        if (cp_args_merge(cur->extra, in->extra, &out->extra)) {
            cp_config_free(out);
            return gp_err_set(err, -ENOMEM, "out of memory");
        }
    }
    return 0;
}

void cp_host_stop(struct cp_config *out)
{
    cp_config_init(out);
    out->type = CP_STOP;
    out->stop_level = CP_STOP_HOST;
}

int cp_process_stop(const struct cp_config *cur, const int32_t *stop, size_t n,
                    struct cp_config *out, struct gp_err *err)
{
    if (n == 0)
        return gp_err_set(err, -EINVAL, "process-level stop needs at least one PID");
    if (cur && cur->type == CP_START && cur->npids) {
        int32_t *rem;
        size_t nrem;
        if (cp_pids_minus(cur->pids, cur->npids, stop, n, &rem, &nrem))
            return gp_err_set(err, -ENOMEM, "out of memory");
        if (nrem == 0) {
            cp_host_stop(out);
            return 0;
        }
        if (cp_config_copy(out, cur)) {
            free(rem);
            return gp_err_set(err, -ENOMEM, "out of memory");
        }
        free(out->pids);
        out->pids = rem;
        out->npids = nrem;
        out->stop_level = CP_STOP_PROCESS;
        return 0;
    }
    cp_config_init(out);
    out->type = CP_STOP;
    out->stop_level = CP_STOP_PROCESS;
    out->pids = malloc(n * sizeof(int32_t));
    if (!out->pids)
        return gp_err_set(err, -ENOMEM, "out of memory");
    memcpy(out->pids, stop, n * sizeof(int32_t));
    out->npids = cp_pids_normalize(out->pids, n);
    return 0;
}

/* ---- statuses ------------------------------------------------------------------------ */

static const char *cmd_names[] = {"pending", "sent", "completed", "failed"};
static const char *req_names[] = {"pending", "assigned", "completed", "failed", "cancelled"};

const char *cp_cmd_status_name(enum cp_cmd_status s)
{
    return (unsigned)s < 4 ? cmd_names[s] : "unknown";
}

int cp_cmd_status_parse(const char *s, enum cp_cmd_status *out)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, cmd_names[i]) == 0) {
            *out = (enum cp_cmd_status)i;
            return 0;
        }
    return -EINVAL;
}

const char *cp_req_status_name(enum cp_req_status s)
{
    return (unsigned)s < 5 ? req_names[s] : "unknown";
}

int cp_req_status_parse(const char *s, enum cp_req_status *out)
{
    for (int i = 0; i < 5; i++)
        if (s && strcmp(s, req_names[i]) == 0) {
            *out = (enum cp_req_status)i;
            return 0;
        }
    return -EINVAL;
}

bool cp_cmd_transition_ok(enum cp_cmd_status from, enum cp_cmd_status to)
{
    if (from == to)
        return true;
    switch (from) {
    case CMD_PENDING:
        return to == CMD_SENT;
    case CMD_SENT:
        return to == CMD_COMPLETED || to == CMD_FAILED;
    default:
        return false;
    }
}

enum cp_req_status cp_request_rollup(const enum cp_req_status *e, size_t n)
{
    size_t pending = 0, assigned = 0, done = 0, failed = 0, cancelled = 0;
    for (size_t i = 0; i < n; i++) {
        switch (e[i]) {
        case REQ_PENDING:
            pending++;
            break;
        case REQ_ASSIGNED:
            assigned++;
            break;
        case REQ_FAILED:
            failed++;
            break;
        case REQ_CANCELLED:
            cancelled++;
            break;
        case REQ_COMPLETED:
            done++;
            break;
        }
    }
    if (n == 0)
        return REQ_PENDING;
    if (cancelled == n)
        return REQ_CANCELLED;
    /* superseded (cancelled) executions don't hold a request open */
    if (assigned || (pending && (done || failed)))
        return REQ_ASSIGNED;
    if (pending)
        return REQ_PENDING;
    return failed ? REQ_FAILED : REQ_COMPLETED;
}

const char *cp_host_liveness(int64_t last, int64_t now, int64_t interval)
{
    if (interval <= 0)
        interval = 30;
    return now - last > 3 * interval ? "offline" : "active";
}

int cp_check_limits(size_t request_hosts, size_t max_hosts, size_t busy_outside,
                    size_t active_hosts, unsigned max_share_pct, struct gp_err *err)
{
    if (max_hosts && request_hosts > max_hosts)
        return gp_err_set(err, -E2BIG,
                          "request targets %zu hosts; at most %zu per request "
                          "(setting max_hosts_per_request)",
                          request_hosts, max_hosts);
    if (max_share_pct && max_share_pct < 100) {
        size_t cap = active_hosts * max_share_pct / 100;
        if (cap < 1)
            cap = 1;
        if (busy_outside + request_hosts > cap)
            return gp_err_set(err, -E2BIG,
                              "%zu hosts would profile at once (%zu already busy + %zu requested) "
                              "but at most %u%% of %zu active hosts = %zu may "
                              "(setting max_profiling_share_pct)",
                              busy_outside + request_hosts, busy_outside, request_hosts,
                              max_share_pct, active_hosts, cap);
    }
    return 0;
}
