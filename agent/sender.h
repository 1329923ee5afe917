/* sender.h — the upload thread: drains the spool oldest first to the coordinator, waits with
 * exponential backoff and jitter while it fails, and can be woken (new item, coordinator back). */
#ifndef GPROF_AGENT_SENDER_H
#define GPROF_AGENT_SENDER_H

#include <stdint.h>
#include <time.h>

#include "agent/spool.h"
#include "agent/uploader.h"
#include "common/err.h"

struct gp_sender;

struct gp_sender_opts {
    struct gp_upload_target target; /* strings are copied */
    double backoff_base_s;          /* 0 = 1 s */
    double backoff_max_s;           /* 0 = 300 s */
};

/* Starts the thread; the spool stays owned by the caller and must outlive the sender. */
int gp_sender_start(struct gp_spool *spool, const struct gp_sender_opts *o, struct gp_sender **out,
                    struct gp_err *err);
/* Tries once more to send whatever is left (bounded by timeout_s), then stops the thread. */
void gp_sender_stop(struct gp_sender *s, double timeout_s);
/* Wakes the thread now and resets the backoff (a new item, or the coordinator answered again). */
void gp_sender_kick(struct gp_sender *s);
/* Waits until upload_id has left the spool (sent, or dropped) or timeout_s passes. Returns 0 when
 * sent, -EAGAIN when still spooled, -EPROTO when the coordinator refused it for good. */
int gp_sender_wait(struct gp_sender *s, const char *upload_id, double timeout_s);

/* Makes every current and future gp_sender_wait return -EAGAIN at once (shutdown). */
void gp_sender_cancel_waits(struct gp_sender *s);

struct gp_sender_stats {
    uint64_t sent, failed_attempts, refused;
    time_t last_success, next_retry; /* 0 = never / not waiting */
    char last_error[512];
};
void gp_sender_stats(struct gp_sender *s, struct gp_sender_stats *out);

#endif
