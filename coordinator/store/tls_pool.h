/* tls_pool.h — one backend connection per thread, opened lazily and closed at thread exit or
 * when the pool is freed; shared by the SQL metadata layer and the SQLite sample index. */
#ifndef GPROF_COORD_STORE_TLS_POOL_H
#define GPROF_COORD_STORE_TLS_POOL_H

#include "common/err.h"

struct tls_pool;

typedef int (*tls_pool_open_fn)(void *ctx, void **conn, struct gp_err *err);
typedef void (*tls_pool_close_fn)(void *ctx, void *conn);

/* ctx is passed to open/close and must outlive the pool. */
int tls_pool_new(tls_pool_open_fn open, tls_pool_close_fn close, void *ctx, struct tls_pool **out,
                 struct gp_err *err);
/* The calling thread's connection (opened on first use). */
int tls_pool_get(struct tls_pool *p, void **conn, struct gp_err *err);
/* Number of open connections (for tests and diagnostics). */
int tls_pool_count(struct tls_pool *p);
/* Closes every connection. Threads that used the pool must not use it any more. */
void tls_pool_free(struct tls_pool *p);

#endif
