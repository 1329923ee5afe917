/* spool.h — the upload spool in front of a remote blob store (S3): an upload is acknowledged once
 * its body is durable in a local file, and uploader threads put it to the blob store afterwards.
 *
 * Durability: coord_ingest writes the spool file (created under its final name, which ends in its
 * size, fsync, directory fsync) and commits the profile row with a *parked* outbox row
 * (meta_outbox_add_parked) before HTTP answers 200. An uploader then puts the blob, unparks the
 * outbox row (now any coordinator's indexer may read the blob) and only then deletes the file.
 * A crash anywhere leaves the file; the next start replays every file whose upload id has a
 * profile row (acknowledged) and deletes the others (never acknowledged: the agent still holds
 * them), and any file shorter than its name says (cut by a crash before its fsync returned, so
 * before any commit of this coordinator). Put and unpark are idempotent, so a replay stores and
 * indexes a profile once.
 *
 * Bounds: at most max_bytes of bodies wait in the spool; past that coord_spool_write answers
 * -ENOSPC and the caller stores the blob synchronously (503 while the blob store is down, as
 * without a spool). Failed puts are retried with backoff, never dropped.
 *
 * Threads: write/commit/drop from any thread; open/start/stop/close from one.
 */
#ifndef GPROF_COORD_STORE_SPOOL_H
#define GPROF_COORD_STORE_SPOOL_H

#include "common/err.h"

#include <stddef.h>
#include <stdint.h>

struct blob_store;
struct meta_db;
struct coord_spool;

#define SPOOL_NAME_MAX 96

/* Opens (creating, 0750) the spool directory and notes the files a previous run left for
 * coord_spool_start to replay. uploaders: threads putting to the blob store (1..64). */
int coord_spool_open(const char *dir, int uploaders, uint64_t max_bytes, struct coord_spool **out,
                     struct gp_err *err);
/* Stops the uploaders if running and frees everything; files stay for the next start. */
void coord_spool_close(struct coord_spool *sp);

/* Replays the files found at open (acknowledged ones queued, others deleted), then starts the
 * uploaders, which put to blobs and unpark in meta; kick(kick_ctx) after each unpark wakes the
 * indexer (the store passes coord_store_kick). */
int coord_spool_start(struct coord_spool *sp, struct blob_store *blobs, struct meta_db *meta,
                      void (*kick)(void *ctx), void *kick_ctx, struct gp_err *err);
/* Stops the uploaders (a put in flight finishes first). */
void coord_spool_stop(struct coord_spool *sp);

/* Stores data durably as the future blob `key` of upload upload_id; name (SPOOL_NAME_MAX
 * bytes) receives the spool file's name. -ENOSPC when the spool is full (store synchronously
 * instead), other negative errno on write failure. */
int coord_spool_write(struct coord_spool *sp, const char *upload_id, const char *key,
                      const void *data, size_t len, char *name, struct gp_err *err);
/* The upload's rows are committed (its outbox row parked): queue the file for its put. */
void coord_spool_commit(struct coord_spool *sp, const char *name, int64_t profile_id, size_t len);
/* The upload was not acknowledged (commit failed) or was a duplicate: delete the file. */
void coord_spool_drop(struct coord_spool *sp, const char *name, size_t len);

struct coord_spool_stats {
    uint64_t queued;   /* files waiting for their put (including replayed ones) */
    uint64_t bytes;    /* their body bytes */
    uint64_t uploaded; /* puts done since open */
    uint64_t retries;  /* failed puts (retried) since open */
    uint64_t replayed; /* files a previous run left, queued at start */
    uint64_t full;     /* writes refused because the spool was full */
};
void coord_spool_get_stats(struct coord_spool *sp, struct coord_spool_stats *out);

#endif
