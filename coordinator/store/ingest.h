/* ingest.h — the durable half of an upload: store the gzip'd collapsed text as a blob and, in one
 * transaction, the profile row plus an indexing-outbox row; only then may HTTP answer 200.
 *
 * Crash safety: the blob is durable before the row that points at it commits; the outbox row
 * commits with the profile row, so a profile is either unknown (upload not acknowledged, a blob
 * may be left over and is harmless) or will be indexed exactly once (index add is idempotent
 * per profile id). A retried upload with the same upload_id returns the first profile's id.
 *
 * Throughput: concurrent callers are group-committed (one metadata transaction and fsync for
 * every upload that arrives while the previous commit runs), so call coord_ingest from the
 * HTTP worker threads directly; the blob write + fsync happens in the caller's thread.
 */
#ifndef GPROF_COORD_STORE_INGEST_H
#define GPROF_COORD_STORE_INGEST_H

#include "common/err.h"
#include "coordinator/store/store.h"

#include <stddef.h>
#include <stdint.h>

struct ingest_request {
    const char *service;          /* raw name; sanitised here (-EINVAL when nothing remains) */
    const char *hostname;         /* required, 1..255 bytes, no control characters */
    int64_t start_time, end_time; /* Unix seconds (end >= start) */
    double cpu_avg, mem_avg;      /* -1 = unknown */
    int continuous;
    /* Idempotency key of the upload ([A-Za-z0-9_-]{1,64}); NULL = generate one (no dedup). */
    const char *upload_id;
    /* The profile text exactly as uploaded ("# {header}\n" + collapsed lines), uncompressed.
     * Stored gzip'd. Already validated by the caller (the indexer re-parses it). */
    const char *text;
    size_t text_len;
    /* Optional: text already gzip'd by the caller (e.g. reusing the request body); when set it
     * is stored as is and text is ignored. */
    const void *gz;
    size_t gz_len;
    /* Optional: the upload's HTTP body exactly as received — gzip'd JSON envelope whose
     * "profile" member is the text. Stored as is (key ends ".json.gz"), which saves
     * re-compressing megabytes of text per upload; text and gz are then ignored and the indexer
     * unpacks the envelope. */
    const void *envelope_gz;
    size_t envelope_gz_len;
};

/* Stores the upload durably (blob fsynced, rows committed) and kicks the indexer.
 * Returns 0 (also for a duplicate upload_id: *profile_id_out = the existing id) or a negative
 * errno with err set: -EINVAL bad request fields, -EIO/-ENOSPC storage failures, -EBUSY the
 * metadata store stayed locked past its timeout (answer 503). */
int coord_ingest(struct coord_store *store, const struct ingest_request *req,
                 int64_t *profile_id_out, struct gp_err *err);

/* Blob key for an upload, laid out as Performance Studio's (products/<service>/stacks/) with a
 * day directory (retention sweeps one day by prefix):
 * "products/<service>/stacks/<yyyy-mm-dd>/<start>_<upload_id>_<host>.col.gz" with
 * host reduced to [A-Za-z0-9._-]. Returns 0 or -EINVAL (key would be invalid / too long). */
int coord_ingest_blob_key(const char *service, int64_t start_time, const char *upload_id,
                          const char *hostname, char *out, size_t outsz);

/* An ad hoc flame graph's rendered HTML: stored as blob
 * "products/<service>/stacks/flamegraph/<filename>" (as Performance Studio) and a
 * meta_adhoc row (upsert on key). filename must be [A-Za-z0-9._-]{1,200} and not start with
 * '.'. perf_events: JSON array text or NULL. */
struct ingest_adhoc {
    const char *service;
    const char *hostname;
    const char *filename;
    int64_t start_time, end_time;
    const char *perf_events;
    const void *html;
    size_t html_len;
    int64_t profile_id; /* 0 = none */
};
int coord_ingest_adhoc(struct coord_store *store, const struct ingest_adhoc *a, int64_t *id_out,
                       struct gp_err *err);
/* Reads an ad hoc HTML by (service, filename); -ENOENT when unknown or removed. *html is
 * malloc'd. */
int coord_adhoc_read(struct coord_store *store, const char *service, const char *filename,
                     void **html, size_t *len, struct gp_err *err);

#endif
