/* uploader.h — sends one profile to a coordinator as a gProfiler agent does: POST
 * /api/v2/profiles, gzip JSON envelope, token headers; keeps the gpid the server returns. */
#ifndef GPROF_AGENT_UPLOADER_H
#define GPROF_AGENT_UPLOADER_H

#include <stddef.h>
#include <time.h>

#include "common/err.h"

struct gp_upload_target {
    const char *base_url; /* e.g. http://127.0.0.1:8080 */
    const char *token;    /* may be NULL when the coordinator runs with auth = off */
    const char *service;
    const char *hostname;
    long timeout_s; /* 0 = 120, as gProfiler */
};

struct gp_upload {
    const char *profile; /* "# {header}\n" + collapsed lines */
    size_t profile_len;
    time_t start, end, spawn;
    double cpu_avg, mem_avg; /* < 0 = null */
    const char *upload_id;   /* X-Gprof-Upload-Id: a retried upload is stored once */
};

/* Uploads; on success stores the server's gpid in gpid (in/out: the last gpid is sent back).
 * Errors carry the HTTP status and the server's message; -EAGAIN marks a retryable failure
 * (network, 5xx, 429), anything else is permanent. */
int gp_upload_profile(const struct gp_upload_target *t, const struct gp_upload *u, char *gpid,
                      size_t gpid_len, struct gp_err *err);

#endif
