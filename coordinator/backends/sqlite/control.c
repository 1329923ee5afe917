/* backends/sqlite/control.c — plain CRUD over the control-plane tables (host heartbeats, profiling
 * requests, the current command per host and service, executions) and the host_status join.
 * Merging and status transitions are decided by coordinator/control/, not here. */
#include "coordinator/store/meta/meta.h"
#include "coordinator/backends/sqlite/rows.h"
#include "coordinator/backends/sqlite/sql.h"
#include "common/strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ORNULL(x) ((x) > 0 ? META_I(x) : META_N)

/* ---- heartbeats ------------------------------------------------------------------------- */

void meta_heartbeat_clear(struct meta_heartbeat *h)
{
    if (!h)
        return;
    free(h->hostname);
    free(h->service_name);
    free(h->ip_address);
    free(h->agent_version);
    free(h->last_command_id);
    free(h->received_command_ids);
    free(h->executed_command_ids);
    free(h->status);
    memset(h, 0, sizeof(*h));
}

#define HB_COLS                                                                                    \
    "h.id, h.hostname, h.service_name, h.ip_address, h.agent_version, h.last_command_id, "         \
    "h.received_command_ids, h.executed_command_ids, h.status, h.heartbeat_timestamp, "            \
    "h.created_at, h.updated_at"
#define HB_NCOLS 12

static int row_to_hb(const struct meta_row *r, int o, struct meta_heartbeat *h)
{
    int oom = 0;
    h->id = meta_row_int(r, o + 0);
    h->hostname = meta_row_strdup(r, o + 1, &oom);
    h->service_name = meta_row_strdup(r, o + 2, &oom);
    h->ip_address = meta_row_strdup(r, o + 3, &oom);
    h->agent_version = meta_row_strdup(r, o + 4, &oom);
    h->last_command_id = meta_row_strdup(r, o + 5, &oom);
    h->received_command_ids = meta_row_strdup(r, o + 6, &oom);
    h->executed_command_ids = meta_row_strdup(r, o + 7, &oom);
    h->status = meta_row_strdup(r, o + 8, &oom);
    h->heartbeat_timestamp = meta_row_int(r, o + 9);
    h->created_at = meta_row_int(r, o + 10);
    h->updated_at = meta_row_int(r, o + 11);
    return oom ? -ENOMEM : 0;
}

static int hb_read(const struct meta_row *r, void *out)
{
    return row_to_hb(r, 0, out);
}

static void hb_clear(void *h)
{
    meta_heartbeat_clear(h);
}

static int hb_call(union row_cb cb, const void *h, void *ctx)
{
    return cb.hb(h, ctx);
}

static const struct row_kind HB_ROW = {hb_read, hb_clear, hb_call};

int meta_heartbeat_upsert(struct meta_db *db, const struct meta_heartbeat *h, struct gp_err *err)
{
    if (!h->hostname || !*h->hostname || !h->service_name || !*h->service_name)
        return gp_err_set(err, -EINVAL, "heartbeat needs hostname and service_name");
    int64_t ts = h->heartbeat_timestamp > 0 ? h->heartbeat_timestamp : meta_now();
    struct meta_value v[] = {
            META_T(h->hostname),
            META_T(h->service_name),
            META_T(h->ip_address ? h->ip_address : ""),
            META_TN(h->agent_version),
            META_TN(h->last_command_id),
            META_TN(h->received_command_ids),
            META_TN(h->executed_command_ids),
            META_T(h->status ? h->status : "active"),
            META_I(ts),
            META_I(ts),
            META_I(ts),
    };
    return meta_exec(db,
                     "INSERT INTO host_heartbeats (hostname, service_name, ip_address, "
                     "agent_version, last_command_id, received_command_ids, "
                     "executed_command_ids, status, heartbeat_timestamp, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT (hostname, service_name) DO UPDATE SET "
                     "ip_address = excluded.ip_address, agent_version = excluded.agent_version, "
                     "last_command_id = excluded.last_command_id, "
                     "received_command_ids = excluded.received_command_ids, "
                     "executed_command_ids = excluded.executed_command_ids, "
                     "status = excluded.status, "
                     "heartbeat_timestamp = excluded.heartbeat_timestamp, "
                     "updated_at = excluded.updated_at",
                     v, 11, NULL, err);
}

int meta_heartbeat_get(struct meta_db *db, const char *hostname, const char *service,
                       struct meta_heartbeat *out, struct gp_err *err)
{
    struct meta_value p[] = {META_T(hostname), META_T(service)};
    return sq_row_one(db, &HB_ROW, sizeof(*out),
                      "SELECT " HB_COLS " FROM host_heartbeats h "
                      "WHERE h.hostname = ? AND h.service_name = ?",
                      p, 2, out, err, "host %s has never sent a heartbeat for service %s", hostname,
                      service);
}

int meta_heartbeat_list_active(struct meta_db *db, const char *service, int64_t since,
                               int (*cb)(const struct meta_heartbeat *h, void *ctx), void *ctx,
                               struct gp_err *err)
{
    struct meta_value p[] = {META_T(service), META_I(since)};
    return sq_row_each(db, &HB_ROW,
                       "SELECT " HB_COLS " FROM host_heartbeats h WHERE h.service_name = ? AND "
                       "h.heartbeat_timestamp >= ? ORDER BY h.hostname",
                       p, 2, (union row_cb){.hb = cb}, ctx, err);
}

struct hosts_ctx {
    int (*cb)(const char *hostname, void *ctx);
    void *ctx;
};

static int hosts_cb(const struct meta_row *r, void *ctx)
{
    struct hosts_ctx *h = ctx;
    const char *name = meta_row_text(r, 0);
    return name ? h->cb(name, h->ctx) : 0;
}

int meta_heartbeat_hosts_active(struct meta_db *db, const char *service, int64_t since,
                                int (*cb)(const char *hostname, void *ctx), void *ctx,
                                struct gp_err *err)
{
    struct hosts_ctx h = {cb, ctx};
    struct meta_value p[] = {META_T(service), META_I(since)};
    return meta_query(
            db,
            /* ordered as the (service_name, hostname) index is, so both engines read it (no
             * INDEXED BY: SQLite only) */
            "SELECT hostname FROM host_heartbeats "
            "WHERE service_name = ? AND heartbeat_timestamp >= ? ORDER BY service_name, hostname",
            p, 2, hosts_cb, &h, err);
}

#define EXPIRE_BATCH 1000

int meta_heartbeat_expire(struct meta_db *db, int64_t before, int64_t keep_max, int64_t *deleted,
                          struct gp_err *err)
{
    *deleted = 0;
    int64_t n;
    int rc = 0;
    /* small transactions, so heartbeat writes and requests are never held up for long */
    do {
        struct meta_value p[] = {META_I(before), META_I(EXPIRE_BATCH)};
        n = 0;
        if (before > 0)
            rc = meta_exec(db,
                           "DELETE FROM host_heartbeats WHERE id IN (SELECT id FROM "
                           "host_heartbeats WHERE heartbeat_timestamp < ? LIMIT ?)",
                           p, 2, &n, err);
        *deleted += n;
    } while (rc == 0 && n == EXPIRE_BATCH);
    if (rc || keep_max <= 0)
        return rc;
    int64_t total = 0;
    if ((rc = meta_query_int(db, "SELECT COUNT(*) FROM host_heartbeats", NULL, 0, &total, err)))
        return rc;
    while (rc == 0 && total > keep_max) {
        int64_t excess = total - keep_max;
        struct meta_value p[] = {META_I(excess < EXPIRE_BATCH ? excess : EXPIRE_BATCH)};
        n = 0;
        rc = meta_exec(db,
                       "DELETE FROM host_heartbeats WHERE id IN (SELECT id FROM host_heartbeats "
                       "ORDER BY heartbeat_timestamp, id LIMIT ?)",
                       p, 1, &n, err);
        if (n == 0)
            break;
        *deleted += n;
        total -= n;
    }
    return rc;
}

int meta_heartbeat_count(struct meta_db *db, const char *service, int64_t since, int64_t *out,
                         struct gp_err *err)
{
    struct meta_value p[] = {META_TN(service), META_TN(service), META_I(since)};
    return meta_query_int(db,
                          "SELECT COUNT(*) FROM host_heartbeats WHERE (CAST(? AS TEXT) IS NULL OR "
                          "service_name = ?) AND heartbeat_timestamp >= ?",
                          p, 3, out, err);
}

/* ---- commands --------------------------------------------------------------------------- */

void meta_command_clear(struct meta_command *c)
{
    if (!c)
        return;
    free(c->command_id);
    free(c->hostname);
    free(c->service_name);
    free(c->command_type);
    free(c->request_ids);
    free(c->combined_config);
    free(c->status);
    free(c->error_message);
    free(c->results_path);
    memset(c, 0, sizeof(*c));
}

#define CMD_COLS                                                                                   \
    "c.id, c.command_id, c.hostname, c.service_name, c.command_type, c.request_ids, "              \
    "c.combined_config, c.status, c.created_at, c.sent_at, c.completed_at, c.updated_at, "         \
    "c.execution_time, c.error_message, c.results_path"

static int row_to_cmd(const struct meta_row *r, int o, struct meta_command *c)
{
    int oom = 0;
    c->id = meta_row_int(r, o + 0);
    c->command_id = meta_row_strdup(r, o + 1, &oom);
    c->hostname = meta_row_strdup(r, o + 2, &oom);
    c->service_name = meta_row_strdup(r, o + 3, &oom);
    c->command_type = meta_row_strdup(r, o + 4, &oom);
    c->request_ids = meta_row_strdup(r, o + 5, &oom);
    c->combined_config = meta_row_strdup(r, o + 6, &oom);
    c->status = meta_row_strdup(r, o + 7, &oom);
    c->created_at = meta_row_int(r, o + 8);
    c->sent_at = meta_row_int(r, o + 9);
    c->completed_at = meta_row_int(r, o + 10);
    c->updated_at = meta_row_int(r, o + 11);
    c->execution_time = meta_row_int_or(r, o + 12, -1);
    c->error_message = meta_row_strdup(r, o + 13, &oom);
    c->results_path = meta_row_strdup(r, o + 14, &oom);
    return oom ? -ENOMEM : 0;
}

static int cmd_read(const struct meta_row *r, void *out)
{
    return row_to_cmd(r, 0, out);
}

static void cmd_clear(void *c)
{
    meta_command_clear(c);
}

static int cmd_call(union row_cb cb, const void *c, void *ctx)
{
    return cb.cmd(c, ctx);
}

static const struct row_kind CMD_ROW = {cmd_read, cmd_clear, cmd_call};

static int cmd_get(struct meta_db *db, const char *sql, const char *a, const char *b,
                   struct meta_command *out, struct gp_err *err)
{
    struct meta_value p[] = {META_T(a), META_T(b)};
    return sq_row_one(db, &CMD_ROW, sizeof(*out), sql, p, 2, out, err, "no command");
}

int meta_command_get(struct meta_db *db, const char *hostname, const char *service,
                     struct meta_command *out, struct gp_err *err)
{
    return cmd_get(db,
                   "SELECT " CMD_COLS " FROM profiling_commands c "
                   "WHERE c.hostname = ? AND c.service_name = ?",
                   hostname, service, out, err);
}

int meta_command_get_by_id(struct meta_db *db, const char *command_id, const char *hostname,
                           struct meta_command *out, struct gp_err *err)
{
    return cmd_get(db,
                   "SELECT " CMD_COLS " FROM profiling_commands c "
                   "WHERE c.command_id = ? AND c.hostname = ?",
                   command_id, hostname, out, err);
}

int meta_command_put(struct meta_db *db, const struct meta_command *c, struct gp_err *err)
{
    if (!c->command_id || !c->hostname || !c->service_name || !c->command_type)
        return gp_err_set(err, -EINVAL,
                          "command needs command_id, hostname, service_name and command_type");
    int64_t now = meta_now();
    struct meta_value v[] = {
            META_T(c->command_id),
            META_T(c->hostname),
            META_T(c->service_name),
            META_T(c->command_type),
            META_T(c->request_ids ? c->request_ids : "[]"),
            META_TN(c->combined_config),
            META_T(c->status ? c->status : "pending"),
            META_I(c->created_at > 0 ? c->created_at : now),
            ORNULL(c->sent_at),
            ORNULL(c->completed_at),
            c->execution_time >= 0 ? META_I(c->execution_time) : META_N,
            META_TN(c->error_message),
            META_TN(c->results_path),
            META_I(c->updated_at > 0 ? c->updated_at : now),
    };
    int rc = meta_exec(db,
                       "INSERT INTO profiling_commands (command_id, hostname, service_name, "
                       "command_type, request_ids, combined_config, status, created_at, sent_at, "
                       "completed_at, execution_time, error_message, results_path, updated_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT (hostname, service_name) DO UPDATE SET "
                       "command_id = excluded.command_id, command_type = excluded.command_type, "
                       "request_ids = excluded.request_ids, "
                       "combined_config = excluded.combined_config, status = excluded.status, "
                       "created_at = excluded.created_at, sent_at = excluded.sent_at, "
                       "completed_at = excluded.completed_at, "
                       "execution_time = excluded.execution_time, "
                       "error_message = excluded.error_message, "
                       "results_path = excluded.results_path, updated_at = excluded.updated_at",
                       v, 14, NULL, err);
    if (rc == -EINVAL)
        gp_err_prefix(err, "command type must be start|stop and status "
                           "pending|sent|completed|failed");
    return rc;
}

int meta_command_set_status(struct meta_db *db, const char *command_id, const char *hostname,
                            const char *status, int64_t now, int64_t *changes, struct gp_err *err)
{
    if (now <= 0)
        now = meta_now();
    struct meta_value p[] = {META_T(status), META_T(status),     META_I(now),
                             META_I(now),    META_T(command_id), META_T(hostname)};
    return meta_exec(db,
                     "UPDATE profiling_commands SET status = ?, "
                     "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END, updated_at = ? "
                     "WHERE command_id = ? AND hostname = ?",
                     p, 6, changes, err);
}

/* Completion of a command or of an execution: the same columns in either table. */
static int complete_row(struct meta_db *db, const char *sql, const char *command_id,
                        const char *hostname, const char *status, int64_t completed_at,
                        int64_t execution_time, const char *error_message, const char *results_path,
                        int64_t *changes, struct gp_err *err)
{
    if (completed_at <= 0)
        completed_at = meta_now();
    struct meta_value p[] = {META_T(status),
                             META_I(completed_at),
                             execution_time >= 0 ? META_I(execution_time) : META_N,
                             META_TN(error_message),
                             META_TN(results_path),
                             META_I(completed_at),
                             META_T(command_id),
                             META_T(hostname)};
    return meta_exec(db, sql, p, 8, changes, err);
}

#define COMPLETE_SET                                                                               \
    " SET status = ?, completed_at = ?, execution_time = ?, error_message = ?, "                   \
    "results_path = ?, updated_at = ? WHERE command_id = ? AND hostname = ?"

int meta_command_complete(struct meta_db *db, const char *command_id, const char *hostname,
                          const char *status, int64_t completed_at, int64_t execution_time,
                          const char *error_message, const char *results_path, int64_t *changes,
                          struct gp_err *err)
{
    return complete_row(db, "UPDATE profiling_commands" COMPLETE_SET, command_id, hostname, status,
                        completed_at, execution_time, error_message, results_path, changes, err);
}

int meta_command_list_by_request(struct meta_db *db, const char *request_id,
                                 int (*cb)(const struct meta_command *c, void *ctx), void *ctx,
                                 struct gp_err *err)
{
    /* request_ids is a JSON array of uuids; a quoted substring match is exact for uuids. */
    struct meta_value p = META_T(request_id);
    return sq_row_each(db, &CMD_ROW,
                       "SELECT " CMD_COLS " FROM profiling_commands c "
                       "WHERE c.request_ids LIKE '%\"' || ? || '\"%' ORDER BY c.hostname",
                       &p, 1, (union row_cb){.cmd = cb}, ctx, err);
}

int meta_command_list(struct meta_db *db, const char *service, const char *status,
                      int (*cb)(const struct meta_command *c, void *ctx), void *ctx,
                      struct gp_err *err)
{
    struct meta_value p[] = {META_TN(service), META_TN(service), META_TN(status), META_TN(status)};
    return sq_row_each(db, &CMD_ROW,
                       "SELECT " CMD_COLS " FROM profiling_commands c "
                       "WHERE (CAST(? AS TEXT) IS NULL OR c.service_name = ?) AND (CAST(? AS "
                       "TEXT) IS NULL OR c.status = ?) "
                       "ORDER BY c.service_name, c.hostname",
                       p, 4, (union row_cb){.cmd = cb}, ctx, err);
}

/* ---- requests --------------------------------------------------------------------------- */

void meta_request_clear(struct meta_request *r)
{
    if (!r)
        return;
    free(r->request_id);
    free(r->service_name);
    free(r->request_type);
    free(r->profiling_mode);
    free(r->target_hosts);
    free(r->stop_level);
    free(r->additional_args);
    free(r->status);
    memset(r, 0, sizeof(*r));
}

int meta_request_insert(struct meta_db *db, const struct meta_request *r, struct gp_err *err)
{
    if (!r->request_id || !r->service_name || !r->request_type)
        return gp_err_set(err, -EINVAL, "request needs request_id, service_name, request_type");
    int64_t now = meta_now();
    struct meta_value v[] = {
            META_T(r->request_id),
            META_T(r->service_name),
            META_T(r->request_type),
            META_I(r->continuous ? 1 : 0),
            META_I(r->duration),
            META_I(r->frequency),
            META_T(r->profiling_mode ? r->profiling_mode : "cpu"),
            META_T(r->target_hosts ? r->target_hosts : "{}"),
            META_TN(r->stop_level),
            META_TN(r->additional_args),
            META_T(r->status ? r->status : "pending"),
            META_I(r->created_at > 0 ? r->created_at : now),
            META_I(r->updated_at > 0 ? r->updated_at : now),
            ORNULL(r->completed_at),
            ORNULL(r->estimated_completion_time),
    };
    int rc = meta_exec(db,
                       "INSERT INTO profiling_requests (request_id, service_name, request_type, "
                       "continuous, duration, frequency, profiling_mode, target_hosts, "
                       "stop_level, additional_args, status, created_at, updated_at, "
                       "completed_at, estimated_completion_time) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       v, 15, NULL, err);
    if (rc == -EEXIST)
        return gp_err_set(err, -EEXIST, "request %s already exists", r->request_id);
    if (rc == -EINVAL)
        gp_err_prefix(err, "request_type start|stop, profiling_mode cpu|allocation|none, "
                           "stop_level process|host");
    return rc;
}

static int req_read(const struct meta_row *row, void *out)
{
    struct meta_request *r = out;
    int oom = 0;
    r->id = meta_row_int(row, 0);
    r->request_id = meta_row_strdup(row, 1, &oom);
    r->service_name = meta_row_strdup(row, 2, &oom);
    r->request_type = meta_row_strdup(row, 3, &oom);
    r->continuous = (int)meta_row_int(row, 4);
    r->duration = meta_row_int(row, 5);
    r->frequency = meta_row_int(row, 6);
    r->profiling_mode = meta_row_strdup(row, 7, &oom);
    r->target_hosts = meta_row_strdup(row, 8, &oom);
    r->stop_level = meta_row_strdup(row, 9, &oom);
    r->additional_args = meta_row_strdup(row, 10, &oom);
    r->status = meta_row_strdup(row, 11, &oom);
    r->created_at = meta_row_int(row, 12);
    r->updated_at = meta_row_int(row, 13);
    r->completed_at = meta_row_int(row, 14);
    r->estimated_completion_time = meta_row_int(row, 15);
    return oom ? -ENOMEM : 0;
}

static void req_clear(void *r)
{
    meta_request_clear(r);
}

static const struct row_kind REQ_ROW = {req_read, req_clear, NULL};

int meta_request_get(struct meta_db *db, const char *request_id, struct meta_request *out,
                     struct gp_err *err)
{
    struct meta_value p = META_T(request_id);
    return sq_row_one(db, &REQ_ROW, sizeof(*out),
                      "SELECT id, request_id, service_name, request_type, continuous, duration, "
                      "frequency, profiling_mode, target_hosts, stop_level, additional_args, "
                      "status, created_at, updated_at, completed_at, estimated_completion_time "
                      "FROM profiling_requests WHERE request_id = ?",
                      &p, 1, out, err, "no request %s", request_id);
}

int meta_request_set_status(struct meta_db *db, const char *request_id, const char *status,
                            int64_t now, struct gp_err *err)
{
    if (now <= 0)
        now = meta_now();
    struct meta_value p[] = {META_T(status), META_T(status), META_I(now), META_I(now),
                             META_T(request_id)};
    int64_t changes = 0;
    int rc = meta_exec(db,
                       "UPDATE profiling_requests SET status = ?, completed_at = CASE WHEN ? IN "
                       "('completed', 'failed', 'cancelled') THEN ? ELSE completed_at END, "
                       "updated_at = ? WHERE request_id = ?",
                       p, 5, &changes, err);
    if (rc < 0)
        return rc;
    if (!changes)
        return gp_err_set(err, -ENOENT, "no request %s", request_id);
    return 0;
}

/* ---- executions ------------------------------------------------------------------------- */

void meta_execution_clear(struct meta_execution *e)
{
    if (!e)
        return;
    free(e->command_id);
    free(e->hostname);
    free(e->request_id);
    free(e->status);
    free(e->error_message);
    free(e->results_path);
    memset(e, 0, sizeof(*e));
}

int meta_execution_upsert(struct meta_db *db, const struct meta_execution *e, struct gp_err *err)
{
    if (!e->command_id || !e->hostname || !e->request_id)
        return gp_err_set(err, -EINVAL, "execution needs command_id, hostname and request_id");
    int64_t now = meta_now();
    struct meta_value v[] = {
            META_T(e->command_id),
            META_T(e->hostname),
            META_T(e->request_id),
            META_T(e->status ? e->status : "assigned"),
            ORNULL(e->started_at),
            ORNULL(e->completed_at),
            e->execution_time >= 0 ? META_I(e->execution_time) : META_N,
            META_TN(e->error_message),
            META_TN(e->results_path),
            META_I(now),
            META_I(now),
    };
    int rc = meta_exec(db,
                       "INSERT INTO profiling_executions (command_id, hostname, request_id, "
                       "status, started_at, completed_at, execution_time, error_message, "
                       "results_path, created_at, updated_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT (command_id, hostname, request_id) DO UPDATE SET "
                       "status = excluded.status, started_at = excluded.started_at, "
                       "updated_at = excluded.updated_at",
                       v, 11, NULL, err);
    if (rc == -EINVAL)
        gp_err_prefix(err, "execution of request %s (the request must exist)", e->request_id);
    return rc;
}

int meta_execution_complete(struct meta_db *db, const char *command_id, const char *hostname,
                            const char *status, int64_t completed_at, int64_t execution_time,
                            const char *error_message, const char *results_path, int64_t *changes,
                            struct gp_err *err)
{
    return complete_row(db, "UPDATE profiling_executions" COMPLETE_SET, command_id, hostname,
                        status, completed_at, execution_time, error_message, results_path, changes,
                        err);
}

/* the columns exec_read reads */
#define EXEC_COLS                                                                                  \
    "id, command_id, hostname, request_id, status, started_at, completed_at, execution_time, "     \
    "error_message, results_path, created_at, updated_at"

static int exec_read(const struct meta_row *r, void *out)
{
    struct meta_execution *e = out;
    int oom = 0;
    e->id = meta_row_int(r, 0);
    e->command_id = meta_row_strdup(r, 1, &oom);
    e->hostname = meta_row_strdup(r, 2, &oom);
    e->request_id = meta_row_strdup(r, 3, &oom);
    e->status = meta_row_strdup(r, 4, &oom);
    e->started_at = meta_row_int(r, 5);
    e->completed_at = meta_row_int(r, 6);
    e->execution_time = meta_row_int_or(r, 7, -1);
    e->error_message = meta_row_strdup(r, 8, &oom);
    e->results_path = meta_row_strdup(r, 9, &oom);
    e->created_at = meta_row_int(r, 10);
    e->updated_at = meta_row_int(r, 11);
    return oom ? -ENOMEM : 0;
}

static void exec_clear(void *e)
{
    meta_execution_clear(e);
}

static int exec_call(union row_cb cb, const void *e, void *ctx)
{
    return cb.exec(e, ctx);
}

static const struct row_kind EXEC_ROW = {exec_read, exec_clear, exec_call};

int meta_execution_list(struct meta_db *db, const char *command_id, const char *hostname,
                        int (*cb)(const struct meta_execution *e, void *ctx), void *ctx,
                        struct gp_err *err)
{
    struct meta_value p[] = {META_T(command_id), META_TN(hostname), META_TN(hostname)};
    return sq_row_each(db, &EXEC_ROW,
                       "SELECT " EXEC_COLS " FROM profiling_executions WHERE command_id = ? AND "
                       "(CAST(? AS TEXT) IS NULL OR hostname = ?) ORDER BY hostname, id",
                       p, 3, (union row_cb){.exec = cb}, ctx, err);
}

/* ---- host_status ------------------------------------------------------------------------ */

#define MAX_FILTER_VALUES 256

/* Escapes LIKE wildcards so user text matches literally (ESCAPE '\'). */
static char *like_pattern(const char *s)
{
    struct strbuf b = STRBUF_INIT;
    sb_putc(&b, '%');
    for (; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            sb_putc(&b, '\\');
        sb_putc(&b, *s);
    }
    sb_putc(&b, '%');
    if (b.oom) {
        sb_free(&b);
        return NULL;
    }
    return sb_detach(&b, NULL);
}

struct sqlb {
    struct strbuf sql;
    struct meta_value p[5 * MAX_FILTER_VALUES + 2];
    char *owned[5 * MAX_FILTER_VALUES];
    int n, nowned, oom;
};

static void add_text_group(struct sqlb *b, const char *col, const char *const *v, size_t n,
                           int like)
{
    if (!n)
        return;
    sb_puts(&b->sql, " AND (");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_puts(&b->sql, " OR ");
        if (like) {
            char *pat = like_pattern(v[i]);
            if (!pat) {
                b->oom = 1;
                return;
            }
            b->owned[b->nowned++] = pat;
            sb_printf(&b->sql, "LOWER(%s) LIKE LOWER(?) ESCAPE '\\'", col);
            b->p[b->n++] = META_T(pat);
        } else {
            sb_printf(&b->sql, "%s = ?", col);
            b->p[b->n++] = META_T(v[i]);
        }
    }
    sb_puts(&b->sql, ")");
}

/* command_type / status lists where "N/A" / "stopped" mean "no command row". */
static void add_cmd_group(struct sqlb *b, const char *col, const char *const *v, size_t n,
                          const char *none)
{
    if (!n)
        return;
    sb_puts(&b->sql, " AND (");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_puts(&b->sql, " OR ");
        if (strcmp(v[i], none) == 0) {
            sb_puts(&b->sql, "c.id IS NULL");
        } else {
            sb_printf(&b->sql, "%s = ?", col);
            b->p[b->n++] = META_T(v[i]);
        }
    }
    sb_puts(&b->sql, ")");
}

static int host_read(const struct meta_row *r, void *out)
{
    struct host_row *hr = out;
    hr->has_cmd = r->cols[HB_NCOLS].type != META_NULL;
    if (row_to_hb(r, 0, &hr->h) < 0 || (hr->has_cmd && row_to_cmd(r, HB_NCOLS, &hr->c) < 0))
        return -ENOMEM;
    return 0;
}

static void host_clear(void *out)
{
    struct host_row *hr = out;
    meta_heartbeat_clear(&hr->h);
    meta_command_clear(&hr->c);
}

static int host_call(union row_cb cb, const void *row, void *ctx)
{
    const struct host_row *hr = row;
    struct meta_host_status hs = {&hr->h, hr->has_cmd ? &hr->c : NULL};
    return cb.host(&hs, ctx);
}

static const struct row_kind HOST_ROW = {host_read, host_clear, host_call};

int meta_host_list(struct meta_db *db, const struct meta_host_filter *f,
                   int (*cb)(const struct meta_host_status *hs, void *ctx), void *ctx,
                   struct gp_err *err)
{
    static const struct meta_host_filter none;
    if (!f)
        f = &none;
    if (f->nservices > MAX_FILTER_VALUES || f->nhostnames > MAX_FILTER_VALUES ||
        f->nip_addresses > MAX_FILTER_VALUES || f->ncommand_types > MAX_FILTER_VALUES ||
        f->ncommand_statuses > MAX_FILTER_VALUES)
        return gp_err_set(err, -EINVAL, "at most %d values per host_status filter",
                          MAX_FILTER_VALUES);
    struct sqlb *b = calloc(1, sizeof(*b));
    if (!b)
        return gp_err_set(err, -ENOMEM, "out of memory");
    sb_puts(&b->sql, "SELECT " HB_COLS ", " CMD_COLS
                     " FROM host_heartbeats h LEFT JOIN profiling_commands c ON "
                     "c.hostname = h.hostname AND c.service_name = h.service_name WHERE 1 = 1");
    add_text_group(b, "h.service_name", f->services, f->nservices, !f->exact_match);
    add_text_group(b, "h.hostname", f->hostnames, f->nhostnames, !f->exact_match);
    add_text_group(b, "h.ip_address", f->ip_addresses, f->nip_addresses, 1);
    add_cmd_group(b, "c.command_type", f->command_types, f->ncommand_types, "N/A");
    add_cmd_group(b, "c.status", f->command_statuses, f->ncommand_statuses, "stopped");
    if (f->heartbeat_since > 0) {
        sb_puts(&b->sql, " AND h.heartbeat_timestamp >= ?");
        b->p[b->n++] = META_I(f->heartbeat_since);
    }
    sb_puts(&b->sql, " ORDER BY h.heartbeat_timestamp DESC, h.id DESC LIMIT ?");
    b->p[b->n++] = META_I(f->limit ? (int64_t)f->limit : INT64_MAX);
    int rc;
    if (b->oom || b->sql.oom) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    } else {
        rc = sq_row_each(db, &HOST_ROW, sb_str(&b->sql), b->p, b->n, (union row_cb){.host = cb},
                         ctx, err);
    }
    for (int i = 0; i < b->nowned; i++)
        free(b->owned[i]);
    sb_free(&b->sql);
    free(b);
    return rc;
}

/* ---- executions of a request (the control plane's status views) ------------------------- */

int meta_execution_list_request(struct meta_db *db, const char *request_id, size_t newest,
                                int (*cb)(const struct meta_execution *e, void *ctx), void *ctx,
                                struct gp_err *err)
{
    struct meta_value p[] = {META_T(request_id), META_I(newest ? (int64_t)newest : INT64_MAX)};
    return sq_row_each(db, &EXEC_ROW,
                       newest ? "SELECT " EXEC_COLS " FROM profiling_executions WHERE "
                                "request_id = ? ORDER BY id DESC LIMIT ?"
                              : "SELECT " EXEC_COLS " FROM profiling_executions WHERE "
                                "request_id = ? ORDER BY id LIMIT ?",
                       p, 2, (union row_cb){.exec = cb}, ctx, err);
}

int meta_execution_cancel_open(struct meta_db *db, const char *command_id, const char *hostname,
                               int64_t now, struct gp_err *err)
{
    return meta_exec(db,
                     "UPDATE profiling_executions SET status = 'cancelled', updated_at = ? "
                     "WHERE command_id = ? AND hostname = ? AND status IN ('pending', "
                     "'assigned')",
                     (struct meta_value[]){META_I(now), META_T(command_id), META_T(hostname)}, 3,
                     NULL, err);
}
