/* meta.h — the coordinator's metadata store: an engine-neutral contract (services, tokens,
 * people and sessions, the audit log, profiles, outbox, ad hoc graphs, settings, control plane)
 * implemented by one engine per folder.
 *
 * Seams
 *   An engine lives in coordinator/backends/<engine>/ (SQLite today: backends/sqlite/) and is
 *   registered in the engine table; callers see only the functions below and never the engine's
 *   query language. Each engine owns its schema and its migrations, versioned.
 *
 * Types
 *   Times are int64 Unix seconds (UTC). Lists (command ids, request ids, pids, perf events) are
 *   stored as JSON text so every engine stores them the same way. Ids are int64, uuids are
 *   36-char text.
 *
 * Durability
 *   meta_commit is durable: when it returns, the transaction survives a power failure. A single
 *   write outside meta_begin/meta_commit is atomic and survives a process crash but may be lost
 *   on power failure: fine for heartbeats, not for anything acknowledged to a client — wrap
 *   those in a transaction. Batch many small writes in one transaction (measured with SQLite
 *   here: ~60,000 heartbeat upserts/s batched vs ~6-13,000/s one at a time).
 *
 * Threads
 *   A struct meta_db is safe to share between threads: each thread transparently gets its own
 *   connection (opened on first use, kept until meta_db_close or thread exit). A transaction
 *   (meta_begin .. meta_commit/meta_rollback) therefore spans every meta_* call the same thread
 *   makes in between. meta_begin takes the write lock at once, so read-modify-write sequences
 *   (merging a command) are serialised and never fail to upgrade.
 *
 * Output structs (struct meta_command ...) own their strings (malloc'd); release them with the
 * matching meta_*_clear(). When the same struct is used as input, fields are only read. Pointers
 * handed to list callbacks are valid during the callback only. All functions return 0 or a
 * negative errno (-ENOENT not found, -EEXIST duplicate, -EINVAL bad argument, -EIO engine error,
 * -EBUSY when the engine could not get the write lock within its busy timeout (the engine
 * retries a busy write itself first), -ENOMEM) and fill err.
 */
#ifndef GPROF_COORD_STORE_META_H
#define GPROF_COORD_STORE_META_H

#include "common/err.h"

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------------------------ */
/* Opening, transactions                                                                       */

struct meta_db;

/* spec = "<engine>:<location>", e.g. "sqlite:/var/lib/gprof-coordinator/meta.db". Opens (and
 * migrates) one connection immediately so configuration errors surface here. */
int meta_db_open(const char *spec, struct meta_db **out, struct gp_err *err);
/* Closes every connection. No other thread may use db any more. */
void meta_db_close(struct meta_db *db);
/* Transactions on this thread's connection. Nesting is not supported (-EBUSY). */
int meta_begin(struct meta_db *db, struct gp_err *err);
int meta_commit(struct meta_db *db, struct gp_err *err);
int meta_rollback(struct meta_db *db); /* never fails visibly; logs */
/* How many schema migrations the engine has applied (grows with every release's schema). */
int meta_schema_version(struct meta_db *db, int *version, struct gp_err *err);
/* Brings the schema of the store at spec to version `to` (-1 = newest), down as well as up,
 * without opening it for use (`gprof-coordinator migrate --to N`); *version (may be NULL) = the
 * version reached. -ENOTSUP for engines that migrate only up, on open (SQLite). */
int meta_db_migrate(const char *spec, int to, int *version, struct gp_err *err);
/* Inside a transaction: serialises with every other transaction, in any coordinator sharing the
 * store, that locks the same key, until commit or rollback (a no-op where meta_begin already
 * serialises all writers, SQLite). Read-modify-write of shared rows (merging a host's command)
 * takes it first. */
int meta_lock(struct meta_db *db, const char *key, struct gp_err *err);
/* *ok = 1 when the engine reports no corruption; msg describes problems. */
int meta_check(struct meta_db *db, int *ok, char *msg, size_t msgsz, struct gp_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Services (meta/services.c)                                                                  */

#define META_NAME_MAX 256 /* service names and hostnames, bytes incl. NUL */

/* Performance Studio's rule: removes every byte outside [A-Za-z0-9_.-] and leading '_'.
 * Writes at most outsz-1 bytes; returns the sanitised length (0 = unusable name). */
size_t meta_service_sanitize(const char *in, char *out, size_t outsz);

struct meta_service {
    int64_t id;
    char *name;
    int64_t created_at;
    double sample_threshold; /* probability (0..1) that an upload is NOT indexed; 0 = index all */
};
void meta_service_clear(struct meta_service *s);
typedef int (*meta_service_cb)(const struct meta_service *s, void *ctx);

/* Sanitises name and returns the service id, creating the service when new. -EINVAL when the
 * sanitised name is empty. */
int meta_service_ensure(struct meta_db *db, const char *name, int64_t *id_out, struct gp_err *err);
/* Looks up an (already sanitised) name; -ENOENT when unknown. out may be NULL. */
int meta_service_get(struct meta_db *db, const char *name, struct meta_service *out,
                     struct gp_err *err);
int meta_service_get_by_id(struct meta_db *db, int64_t id, struct meta_service *out,
                           struct gp_err *err);
/* All services ordered by name. */
int meta_service_list(struct meta_db *db, meta_service_cb cb, void *ctx, struct gp_err *err);
/* Per-service downsampling threshold (0..1, else -EINVAL); -ENOENT for an unknown service. */
int meta_service_set_sample_threshold(struct meta_db *db, const char *name, double threshold,
                                      struct gp_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Agent tokens (meta/tokens.c). Stored as SHA-256 hex; the clear token exists only once.      */

#define META_TOKEN_MAX 80 /* buffer size for a clear token ("gpt_" + 64 hex + NUL) */

struct meta_token {
    int64_t id;
    char *service; /* the service it authorises */
    char *prefix;  /* first 8 characters of the clear token, to tell tokens apart */
    int64_t created_at;
    int64_t revoked_at; /* 0 = active */
    int64_t last_used;  /* 0 = never; updated at most once a minute per token */
};
void meta_token_clear(struct meta_token *t);
typedef int (*meta_token_cb)(const struct meta_token *t, void *ctx);

/* Creates a random token for service (created when new, name sanitised), writes the clear
 * token (NUL-terminated, token_sz >= META_TOKEN_MAX) and its id. */
int meta_token_create(struct meta_db *db, const char *service, char *token, size_t token_sz,
                      int64_t *id_out, struct gp_err *err);
/* Lists tokens of one service (NULL = all), newest first, revoked ones included. */
int meta_token_list(struct meta_db *db, const char *service, meta_token_cb cb, void *ctx,
                    struct gp_err *err);
/* Revokes by id; -ENOENT when no such active token. */
int meta_token_revoke(struct meta_db *db, int64_t id, struct gp_err *err);
/* A number that changes whenever any token is revoked or deleted (by any process sharing the
 * store): a cache of validated tokens is valid only while it is unchanged. */
int meta_token_generation(struct meta_db *db, int64_t *gen, struct gp_err *err);
/* 0 when token is active and (service == NULL or it belongs to that sanitised service name);
 * -EACCES otherwise. service_out (may be NULL) receives the token's service name. */
int meta_token_validate(struct meta_db *db, const char *token, const char *service,
                        char *service_out, size_t service_out_sz, struct gp_err *err);
/* SHA-256 of s as 64 lowercase hex chars + NUL (exposed for tests and other callers). */
void meta_sha256_hex(const void *data, size_t len, char out[65]);

/* ------------------------------------------------------------------------------------------ */
/* People (meta/users.c): users with a role and an optional service list, password hashes from
 * libcrypt (yescrypt "$y$"), their API tokens ("gpu_" + 64 hex, stored as SHA-256, revocable)
 * and UI sessions (id and CSRF token stored as SHA-256, with an expiry).                      */

enum meta_role {
    META_ROLE_NONE = 0,
    META_ROLE_VIEWER = 1,
    META_ROLE_OPERATOR = 2,
    META_ROLE_ADMIN = 3
};
/* "viewer" | "operator" | "admin" ("none" for anything else) and back (META_ROLE_NONE when
 * unknown). */
const char *meta_role_name(int role);
int meta_role_parse(const char *s);

#define META_USER_NAME_MAX 64   /* bytes incl. NUL; [A-Za-z0-9_.@-] */
#define META_SERVICES_MAX  1024 /* comma-separated service list incl. NUL */
#define META_PASSWORD_MAX  1024 /* bytes incl. NUL */

struct meta_user {
    int64_t id;
    char *name;
    int role;       /* enum meta_role */
    char *services; /* comma-separated sanitised names; "" = every service */
    int64_t created_at;
};
void meta_user_clear(struct meta_user *u);
typedef int (*meta_user_cb)(const struct meta_user *u, void *ctx);

/* Adds a user; -EEXIST when the name is taken, -EINVAL for a bad name, role, service list or an
 * empty password. services may be NULL or "" (every service). */
int meta_user_add(struct meta_db *db, const char *name, int role, const char *services,
                  const char *password, int64_t *id_out, struct gp_err *err);
int meta_user_set_password(struct meta_db *db, const char *name, const char *password,
                           struct gp_err *err);
/* Changes the role and the service list (NULL or "" = every service) of a user; -ENOENT when
 * unknown, -EINVAL for a bad role or service list. Sessions and tokens keep working and take
 * the new role at their next request. */
int meta_user_set_role(struct meta_db *db, const char *name, int role, const char *services,
                       struct gp_err *err);
/* Removes the user with its tokens and sessions; -ENOENT when unknown. */
int meta_user_remove(struct meta_db *db, const char *name, struct gp_err *err);
/* out may be NULL; -ENOENT when unknown. */
int meta_user_get(struct meta_db *db, const char *name, struct meta_user *out, struct gp_err *err);
/* Ordered by name. */
int meta_user_list(struct meta_db *db, meta_user_cb cb, void *ctx, struct gp_err *err);
/* 0 and *out (may be NULL) filled when name exists and password matches; -EACCES otherwise
 * (the same work is done for an unknown name, so timing does not tell names apart). */
int meta_user_check_password(struct meta_db *db, const char *name, const char *password,
                             struct meta_user *out, struct gp_err *err);

/* A new API token for user name (clear token written once, token_sz >= META_TOKEN_MAX). */
int meta_user_token_create(struct meta_db *db, const char *name, char *token, size_t token_sz,
                           int64_t *id_out, struct gp_err *err);
/* Tokens of one user (NULL = all), newest first; t->service holds the user name. */
int meta_user_token_list(struct meta_db *db, const char *name, meta_token_cb cb, void *ctx,
                         struct gp_err *err);
/* -ENOENT when no such active token. */
int meta_user_token_revoke(struct meta_db *db, int64_t id, struct gp_err *err);
/* 0 with *out (may be NULL) and *token_id (may be NULL) when token is an active user token;
 * -EACCES otherwise. */
int meta_user_token_validate(struct meta_db *db, const char *token, struct meta_user *out,
                             int64_t *token_id, struct gp_err *err);

/* Sessions: a random id (the cookie) and CSRF token, both shown once (buffers >= META_TOKEN_MAX),
 * valid until now + ttl_s. */
int meta_session_create(struct meta_db *db, int64_t user_id, int64_t now, int64_t ttl_s, char *sid,
                        size_t sid_sz, char *csrf, size_t csrf_sz, struct gp_err *err);
/* 0 with *out (may be NULL) when sid is an unexpired session; *csrf_ok (may be NULL) = 1 when
 * csrf (may be NULL) is its CSRF token. -EACCES otherwise. (Expired sessions are deleted when
 * new ones are created.) */
int meta_session_get(struct meta_db *db, const char *sid, const char *csrf, int64_t now,
                     struct meta_user *out, int *csrf_ok, struct gp_err *err);
/* Ends a session (no error when already gone). */
int meta_session_delete(struct meta_db *db, const char *sid, struct gp_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Audit log (meta/audit.c): append-only, durable (committed with meta_begin/meta_commit).     */

struct meta_audit {
    int64_t id;    /* filled on read */
    int64_t at;    /* Unix seconds; now when 0 */
    char *who;     /* "alice", "ui_token", "anonymous", "cli:root" ... */
    char *address; /* client address, "local" for the CLI */
    char *action;  /* "profile_request start", "login", "user add", "GET /api/services" ... */
    char *target;  /* services / hosts / user concerned, "" when none */
    char *result;  /* "ok" | "denied" | "refused" | "failed" */
    int status;    /* HTTP status (0 for the CLI) */
    char *detail;  /* why refused, or "" */
};
void meta_audit_clear(struct meta_audit *a);
typedef int (*meta_audit_cb)(const struct meta_audit *a, void *ctx);

/* Appends one entry durably (its own transaction; -EBUSY inside another one). NULL strings are
 * stored as "". */
int meta_audit_append(struct meta_db *db, const struct meta_audit *a, struct gp_err *err);
/* Entries with at >= since, newest first, at most limit (0 = 100). */
int meta_audit_list(struct meta_db *db, int64_t since, size_t limit, meta_audit_cb cb, void *ctx,
                    struct gp_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Profiles: one row per upload (meta/profiles.c)                                              */

struct meta_profile {
    int64_t id;
    int64_t service_id;
    char *service; /* filled on read */
    char *hostname;
    int64_t start_time, end_time;
    char *blob_key;
    double cpu_avg, mem_avg; /* -1 = unknown */
    int continuous;
    int64_t size;    /* bytes of the stored blob */
    char *upload_id; /* unique; a retried upload with the same id is stored once */
    int64_t created_at;
    int indexed; /* 0 pending, 1 indexed, 2 skipped by downsampling */
};
void meta_profile_clear(struct meta_profile *p);
typedef int (*meta_profile_cb)(const struct meta_profile *p, void *ctx);

/* Inserts the row (p->id, service, created_at, indexed ignored). When p->upload_id already
 * exists returns -EEXIST and *id_out = the existing row's id. */
int meta_profile_insert(struct meta_db *db, const struct meta_profile *p, int64_t *id_out,
                        struct gp_err *err);
/* Inserts rows[0..n) (n <= META_PROFILE_INSERT_MAX; p->service_id set, as meta_profile_insert)
 * in one statement, a duplicate upload id skipped rather than failing the others: ids[i] = the
 * new row's id, or for dup[i] = 1 the row stored before (by a retry, or an earlier row of the
 * same call); then one more statement, only when some row was a duplicate. One round trip for
 * a group commit's rows on a network store instead of one per profile. */
#define META_PROFILE_INSERT_MAX 32
int meta_profile_insert_many(struct meta_db *db, const struct meta_profile *rows, int n,
                             int64_t *ids, int *dup, struct gp_err *err);
int meta_profile_get(struct meta_db *db, int64_t id, struct meta_profile *out, struct gp_err *err);
int meta_profile_get_by_upload(struct meta_db *db, const char *upload_id, struct meta_profile *out,
                               struct gp_err *err);
int meta_profile_set_indexed(struct meta_db *db, int64_t id, int indexed, struct gp_err *err);
/* The same for ids[0..n) (n <= 64) in one statement. */
int meta_profile_set_indexed_many(struct meta_db *db, const int64_t *ids, int n, int indexed,
                                  struct gp_err *err);
/* Profiles of a service (NULL = all) with start_time in [start, end), oldest first; limit 0 =
 * no limit. */
int meta_profile_list(struct meta_db *db, const char *service, int64_t start, int64_t end,
                      size_t limit, meta_profile_cb cb, void *ctx, struct gp_err *err);
/* Retention: rows with end_time < before, oldest first, at most limit (0 = all). */
int meta_profile_list_before(struct meta_db *db, int64_t before, size_t limit, meta_profile_cb cb,
                             void *ctx, struct gp_err *err);
int meta_profile_delete(struct meta_db *db, int64_t id, struct gp_err *err);
/* The id of the row stored for upload_id; -ENOENT when none. */
int meta_profile_id_by_upload(struct meta_db *db, const char *upload_id, int64_t *id_out,
                              struct gp_err *err);
/* *referenced = 1 when some row points at blob_key, else 0. */
int meta_profile_blob_referenced(struct meta_db *db, const char *blob_key, int *referenced,
                                 struct gp_err *err);
int meta_profile_count(struct meta_db *db, int64_t *out, struct gp_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Indexing outbox (meta/outbox.c): one row per profile still to index                         */

struct meta_outbox_item {
    int64_t id;
    int64_t profile_id;
    int attempts;
    int64_t not_before; /* retry time after a failure */
};
/* Adds an item for profile_id (idempotent: one item per profile). */
int meta_outbox_add(struct meta_db *db, int64_t profile_id, struct gp_err *err);
/* Parked items (the upload spool, store/spool.c): an item added parked is not due until
 * meta_outbox_unpark, which the spool calls once the profile's blob is in the blob store, so no
 * indexer (of this or another coordinator) reads a blob that is still only on one host. */
#define META_OUTBOX_PARKED INT64_C(4000000000000000000)
int meta_outbox_add_parked(struct meta_db *db, int64_t profile_id, struct gp_err *err);
/* Adds the items of profile_ids[0..n) (n <= 64) in one statement, parked where parked[i] (NULL:
 * none), idempotent like meta_outbox_add: one round trip for a group commit's rows. */
int meta_outbox_add_many(struct meta_db *db, const int64_t *profile_ids, const int *parked, int n,
                         struct gp_err *err);
/* Makes profile_id's item due now if it is parked (0 rows when it is not, or gone: indexed). */
int meta_outbox_unpark(struct meta_db *db, int64_t profile_id, struct gp_err *err);
/* Up to max items due at `now` and not claimed, oldest first (a look, nothing claimed); returns
 * the count (>= 0) or a negative errno. */
int meta_outbox_next(struct meta_db *db, int64_t now, struct meta_outbox_item *items, int max,
                     struct gp_err *err);
/* Claims up to max items due at `now` for this caller, oldest first: they are not due again
 * until now + lease_s or until the claimer is gone (see meta_outbox_recover), so concurrent
 * claimers, in this or another coordinator, never get the same item (Postgres: FOR UPDATE SKIP
 * LOCKED). Release them with meta_outbox_done or meta_outbox_fail. Returns the count. */
int meta_outbox_claim(struct meta_db *db, int64_t now, int64_t lease_s,
                      struct meta_outbox_item *items, int max, struct gp_err *err);
int meta_outbox_done(struct meta_db *db, int64_t id, struct gp_err *err);
/* meta_outbox_done for ids[0..n) (n <= 64) in one statement. */
int meta_outbox_done_many(struct meta_db *db, const int64_t *ids, int n, struct gp_err *err);
/* Gives a claimed item back, due at once (its attempt did not count). */
int meta_outbox_release(struct meta_db *db, int64_t id, struct gp_err *err);
/* At start: claims of a previous run that died come back. An engine serving one process
 * (SQLite) releases every claim; Postgres needs nothing (a claim whose server backend is gone
 * is due again at once; one whose backend lives, until its lease ends). */
int meta_outbox_recover(struct meta_db *db, struct gp_err *err);
/* Records a failed attempt: attempts+1, not_before = retry_at, last_error = msg. */
int meta_outbox_fail(struct meta_db *db, int64_t id, int64_t retry_at, const char *msg,
                     struct gp_err *err);
int meta_outbox_pending(struct meta_db *db, int64_t *out, struct gp_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Ad hoc flame graphs (meta/adhoc.c): one row per ad hoc profile's rendered HTML              */

struct meta_adhoc {
    int64_t id;
    int64_t service_id;
    char *service; /* filled on read; on insert used when service_id == 0 */
    char *hostname;
    char *filename;    /* the public name (validated like a blob key component) */
    char *blob_key;    /* unique */
    char *perf_events; /* JSON array text, may be NULL */
    int64_t start_time, end_time;
    int64_t size;
    int64_t profile_id; /* 0 = none */
    int64_t created_at;
};
void meta_adhoc_clear(struct meta_adhoc *a);
typedef int (*meta_adhoc_cb)(const struct meta_adhoc *a, void *ctx);

/* Upserts on blob_key; returns the row id. */
int meta_adhoc_insert(struct meta_db *db, const struct meta_adhoc *a, int64_t *id_out,
                      struct gp_err *err);
/* Rows of service with start_time >= start and end_time <= end, newest first; hostnames (may be
 * NULL / nhosts 0) restricts to those hosts. */
int meta_adhoc_list(struct meta_db *db, const char *service, int64_t start, int64_t end,
                    const char *const *hostnames, size_t nhosts, meta_adhoc_cb cb, void *ctx,
                    struct gp_err *err);
int meta_adhoc_get(struct meta_db *db, const char *service, const char *filename,
                   struct meta_adhoc *out, struct gp_err *err);
int meta_adhoc_delete_before(struct meta_db *db, int64_t before, int64_t *deleted,
                             struct gp_err *err);
/* Retention: rows with end_time < before in id order, at most limit (0 = all); the callback
 * sees only id and blob_key filled. */
int meta_adhoc_list_before(struct meta_db *db, int64_t before, size_t limit, meta_adhoc_cb cb,
                           void *ctx, struct gp_err *err);
int meta_adhoc_delete(struct meta_db *db, int64_t id, struct gp_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Settings (meta/settings.c): key/value, e.g. "retention_days"                               */

#define META_SETTING_RETENTION_DAYS "retention_days"

/* *value_out is malloc'd; -ENOENT when unset. */
int meta_setting_get(struct meta_db *db, const char *key, char **value_out, struct gp_err *err);
int meta_setting_set(struct meta_db *db, const char *key, const char *value, struct gp_err *err);
/* Integer setting with a default when unset or unparsable. */
int meta_setting_get_int(struct meta_db *db, const char *key, int64_t def, int64_t *out,
                         struct gp_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Control plane (meta/control.c), modelled on Performance Studio's tables (reference §3).
 * Plain CRUD; status logic and merging live in coordinator/control/.                          */

/* Host heartbeat: one row per (hostname, service_name). */
struct meta_heartbeat {
    int64_t id;
    char *hostname;
    char *service_name;
    char *ip_address;
    char *agent_version;        /* may be NULL */
    char *last_command_id;      /* may be NULL */
    char *received_command_ids; /* JSON array text, may be NULL */
    char *executed_command_ids; /* JSON array text, may be NULL */
    char *status;               /* "active" | "idle" | "error" | "offline" */
    int64_t heartbeat_timestamp;
    int64_t created_at, updated_at; /* filled on read */
};
void meta_heartbeat_clear(struct meta_heartbeat *h);

/* Inserts or updates the (hostname, service_name) row; updated_at = heartbeat_timestamp
 * (or now when 0). */
int meta_heartbeat_upsert(struct meta_db *db, const struct meta_heartbeat *h, struct gp_err *err);
int meta_heartbeat_get(struct meta_db *db, const char *hostname, const char *service,
                       struct meta_heartbeat *out, struct gp_err *err);
/* Hosts of a service whose heartbeat_timestamp >= since (for targeting "all hosts"). */
int meta_heartbeat_list_active(struct meta_db *db, const char *service, int64_t since,
                               int (*cb)(const struct meta_heartbeat *h, void *ctx), void *ctx,
                               struct gp_err *err);
/* Just the hostnames of meta_heartbeat_list_active, by index (service_name, hostname). */
int meta_heartbeat_hosts_active(struct meta_db *db, const char *service, int64_t since,
                                int (*cb)(const char *hostname, void *ctx), void *ctx,
                                struct gp_err *err);
/* Forgets hosts: deletes rows whose heartbeat is older than before (0 = none by age), then the
 * least recently seen beyond keep_max rows (0 = no cap), in batches; *deleted counts them. */
int meta_heartbeat_expire(struct meta_db *db, int64_t before, int64_t keep_max, int64_t *deleted,
                          struct gp_err *err);
int meta_heartbeat_count(struct meta_db *db, const char *service, int64_t since, int64_t *out,
                         struct gp_err *err);

/* Current command of one (hostname, service_name). */
struct meta_command {
    int64_t id;
    char *command_id; /* uuid */
    char *hostname;
    char *service_name;
    char *command_type;    /* "start" | "stop" */
    char *request_ids;     /* JSON array text of request uuids */
    char *combined_config; /* JSON object text */
    char *status;          /* "pending" | "sent" | "completed" | "failed" */
    int64_t created_at, sent_at, completed_at, updated_at; /* 0 = NULL */
    int64_t execution_time;                                /* -1 = NULL */
    char *error_message;
    char *results_path;
};
void meta_command_clear(struct meta_command *c);

/* -ENOENT when the host has no command. */
int meta_command_get(struct meta_db *db, const char *hostname, const char *service,
                     struct meta_command *out, struct gp_err *err);
int meta_command_get_by_id(struct meta_db *db, const char *command_id, const char *hostname,
                           struct meta_command *out, struct gp_err *err);
/* Replaces the (hostname, service_name) command with c (every column written as given;
 * created_at/updated_at = now when 0). */
int meta_command_put(struct meta_db *db, const struct meta_command *c, struct gp_err *err);
/* Sets status (and sent_at when status is "sent") where command_id and hostname match;
 * *changes (may be NULL) = 0 when the row was already replaced by a newer command. */
int meta_command_set_status(struct meta_db *db, const char *command_id, const char *hostname,
                            const char *status, int64_t now, int64_t *changes, struct gp_err *err);
/* Completion: status, completed_at, execution_time (-1 = NULL), error_message, results_path. */
int meta_command_complete(struct meta_db *db, const char *command_id, const char *hostname,
                          const char *status, int64_t completed_at, int64_t execution_time,
                          const char *error_message, const char *results_path, int64_t *changes,
                          struct gp_err *err);
/* Commands whose request_ids contain request_id. */
int meta_command_list_by_request(struct meta_db *db, const char *request_id,
                                 int (*cb)(const struct meta_command *c, void *ctx), void *ctx,
                                 struct gp_err *err);
/* Commands of a service (NULL = all) with the given status (NULL = any). */
int meta_command_list(struct meta_db *db, const char *service, const char *status,
                      int (*cb)(const struct meta_command *c, void *ctx), void *ctx,
                      struct gp_err *err);

/* A profiling request as posted to /api/metrics/profile_request. */
struct meta_request {
    int64_t id;
    char *request_id; /* uuid, unique */
    char *service_name;
    char *request_type; /* "start" | "stop" */
    int continuous;
    int64_t duration, frequency;
    char *profiling_mode;  /* "cpu" | "allocation" | "none" */
    char *target_hosts;    /* JSON object text hostname -> [pids] | null (never NULL: "{}") */
    char *stop_level;      /* "process" | "host" | NULL */
    char *additional_args; /* JSON object text or NULL */
    char *status;          /* "pending" | "assigned" | "completed" | "failed" | "cancelled" */
    int64_t created_at, updated_at, completed_at, estimated_completion_time; /* 0 = NULL */
};
void meta_request_clear(struct meta_request *r);

/* -EEXIST when request_id exists. */
int meta_request_insert(struct meta_db *db, const struct meta_request *r, struct gp_err *err);
int meta_request_get(struct meta_db *db, const char *request_id, struct meta_request *out,
                     struct gp_err *err);
/* completed_at is stored when status is "completed", "failed" or "cancelled". */
int meta_request_set_status(struct meta_db *db, const char *request_id, const char *status,
                            int64_t now, struct gp_err *err);

/* One execution per (command_id, hostname, request_id) — unlike the reference, which keeps only
 * the last request per command and host. */
struct meta_execution {
    int64_t id;
    char *command_id;
    char *hostname;
    char *request_id;
    char *status;                     /* "assigned" | "completed" | "failed" | ... */
    int64_t started_at, completed_at; /* 0 = NULL */
    int64_t execution_time;           /* -1 = NULL */
    char *error_message;
    char *results_path;
    int64_t created_at, updated_at;
};
void meta_execution_clear(struct meta_execution *e);

/* Inserts, or on (command_id, hostname, request_id) updates status/started_at. */
int meta_execution_upsert(struct meta_db *db, const struct meta_execution *e, struct gp_err *err);
/* Updates every execution of (command_id, hostname); *changes may be NULL. */
int meta_execution_complete(struct meta_db *db, const char *command_id, const char *hostname,
                            const char *status, int64_t completed_at, int64_t execution_time,
                            const char *error_message, const char *results_path, int64_t *changes,
                            struct gp_err *err);
/* Executions of command_id (hostname NULL = any host). */
int meta_execution_list(struct meta_db *db, const char *command_id, const char *hostname,
                        int (*cb)(const struct meta_execution *e, void *ctx), void *ctx,
                        struct gp_err *err);

/* host_status: heartbeat rows LEFT JOIN the host's current command. Every list is OR-ed within
 * itself and AND-ed with the others; NULL/0 = no restriction. exact_match = 0 means
 * case-insensitive substring match for services and hostnames ('%' and '_' are literal). */
struct meta_host_filter {
    const char *const *services;
    size_t nservices;
    const char *const *hostnames;
    size_t nhostnames;
    const char *const *ip_addresses; /* substring match */
    size_t nip_addresses;
    const char *const *command_types; /* "start" | "stop" | "N/A" (= no command) */
    size_t ncommand_types;
    const char *const *command_statuses; /* command status, or "stopped" (= no command) */
    size_t ncommand_statuses;
    int exact_match;
    int64_t heartbeat_since; /* 0 = any */
    size_t limit;            /* 0 = no limit */
};
struct meta_host_status {
    const struct meta_heartbeat *host;
    const struct meta_command *command; /* NULL when the host has no command */
};
/* Ordered by heartbeat_timestamp descending. */
int meta_host_list(struct meta_db *db, const struct meta_host_filter *f,
                   int (*cb)(const struct meta_host_status *hs, void *ctx), void *ctx,
                   struct gp_err *err);

/* Executions of request_id: newest = 0 all of them oldest first, else the newest that many,
 * newest first. */
int meta_execution_list_request(struct meta_db *db, const char *request_id, size_t newest,
                                int (*cb)(const struct meta_execution *e, void *ctx), void *ctx,
                                struct gp_err *err);
/* The executions of (command_id, hostname) still "pending" or "assigned" become "cancelled"
 * (their command was replaced). */
int meta_execution_cancel_open(struct meta_db *db, const char *command_id, const char *hostname,
                               int64_t now, struct gp_err *err);

/* Rows the engine's last query on this thread read by scanning a whole table (SQLite:
 * SQLITE_STMTSTATUS_FULLSCAN_STEP); 0 when it used indexes only, or when the engine cannot
 * tell. For tests of query plans and the control plane's counters. */
uint64_t meta_last_query_fullscan_steps(void);

#endif
