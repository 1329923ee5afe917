/* s3.h — the S3 blob engine's internals: its settings (conf.c, from the spec and the
 * environment), signed requests with retries (request.c) and the XML answers (xml.c). */
#ifndef GPROF_BACKENDS_S3_H
#define GPROF_BACKENDS_S3_H

#include "coordinator/store/engine_options.h"
#include "common/err.h"
#include "common/strbuf.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct s3_conf {
    char *bucket;   /* [a-z0-9.-], 3..63 */
    char *prefix;   /* "" or ending in '/': every key of this store starts with it */
    char *region;   /* default us-east-1 */
    char *scheme;   /* "http" or "https" */
    char *hostport; /* the endpoint's host[:port], e.g. s3.us-east-1.amazonaws.com */
    char *base;     /* URL up to and including the bucket's '/', e.g. http://h:p/bucket/ */
    int path_style; /* 1: http://endpoint/bucket/key; 0: http://bucket.endpoint/key */
    char *access_key, *secret_key, *session_token;
    const char *cred_source; /* where the keys came from, for messages */
    long timeout_ms;         /* one attempt (param timeout, seconds; default 60) */
    long connect_timeout_ms; /* param connect_timeout, seconds; default 5 */
    long retry_ms;           /* no attempt starts after this much time (param retry_seconds;
                              * default 20; 0 = one attempt) */
    int max_keys;            /* keys per list page (param max_keys; 0 = the server's, 1000) */
};

/* Fills c from opts (bucket = host, prefix = database, params endpoint/region/style/timeout/
 * connect_timeout/retry_seconds/max_keys) and credentials (opts user/password, else
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN). */
int s3_conf_init(struct s3_conf *c, const struct store_engine_options *opts, struct gp_err *err);
void s3_conf_free(struct s3_conf *c);

#define S3_POOL_MAX 16

struct s3_client {
    struct s3_conf conf;
    pthread_mutex_t mu;
    void *idle[S3_POOL_MAX]; /* CURL handles kept with their connections */
    int nidle;
    uint64_t rng; /* jitter */
    /* counters for tests and logs */
    uint64_t attempts, retries;
};

struct s3_resp {
    long status;        /* final HTTP status */
    struct strbuf body; /* the answer's body (GET object, list, error XML) */
    uint64_t length;    /* Content-Length (HEAD) */
};

enum s3_method { S3_GET, S3_PUT, S3_HEAD, S3_DELETE };

int s3_client_init(struct s3_client *s, const struct store_engine_options *opts,
                   struct gp_err *err);
void s3_client_free(struct s3_client *s);

/* One request on the object `key` (relative to the bucket, i.e. with the prefix; NULL or "" =
 * the bucket) with the canonical query `query` (sorted, encoded; may be NULL), retried with
 * backoff on connection errors, timeouts, 5xx, 408 and 429 until conf.retry_ms is spent.
 * 0 with resp->status set for any final answer (caller checks it), or -errno with a message
 * when no answer came (-EBUSY: connection failures and timeouts outlasted the retries; -EIO)
 * or the body passed max (-EFBIG). */
int s3_request(struct s3_client *s, enum s3_method m, const char *key, const char *query,
               const void *body, size_t len, size_t max, struct s3_resp *resp, struct gp_err *err);
void s3_resp_free(struct s3_resp *r);

/* -errno and a message saying what to fix for a final non-2xx answer to what fmt says ("storing
 * blob %s"). */
int s3_status_error(struct s3_client *s, const struct s3_resp *r, struct gp_err *err,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Appends s encoded as S3 signing wants (unreserved kept, the rest %XX). */
int s3_uri_encode(struct strbuf *b, const char *s);

/* ListObjectsV2 answer: calls cb for each key; *truncated and token (the next continuation
 * token, malloc'd) say whether to ask again. */
typedef int (*s3_key_cb)(const char *key, uint64_t size, void *ctx);
int s3_xml_list(const char *xml, size_t len, s3_key_cb cb, void *ctx, int *truncated, char **token,
                struct gp_err *err);
/* An error answer's <Code> and <Message> ("" when absent or not XML). */
void s3_xml_error(const char *xml, size_t len, char *code, size_t codesz, char *msg, size_t msgsz);

#endif
