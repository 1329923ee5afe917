/* spool.h — the on-disk upload spool: each finished session is one atomic file (meta line +
 * profile) in STATE_DIR/spool, sent oldest first; bounded in bytes (oldest dropped, counted), and
 * reloaded after a restart, so nothing is lost while the coordinator is down. */
#ifndef GPROF_AGENT_SPOOL_H
#define GPROF_AGENT_SPOOL_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include "common/err.h"

#define GP_SPOOL_DEFAULT_MAX (256ull << 20)

struct gp_spool_meta {
    char upload_id[65]; /* X-Gprof-Upload-Id: the coordinator stores a retried upload once */
    time_t start, end, spawn;
    double cpu_avg, mem_avg; /* < 0 = unknown */
    char kind[16];           /* "continuous" | "adhoc" */
};

struct gp_spool_item {
    uint64_t seq;
    struct gp_spool_meta meta;
    char *data; /* malloc'd profile text */
    size_t len;
};

struct gp_spool;

/* Parses an item's first line (its meta JSON, at most 1023 bytes up to '\n') from text into m.
 * Returns 0, or -EINVAL when the line is missing, too long or not valid meta. */
int gp_spool_meta_parse(const char *text, size_t len, struct gp_spool_meta *m);

/* Creates dir (0700) if needed, removes leftover *.tmp files, indexes the items present. */
int gp_spool_open(const char *dir, uint64_t max_bytes, struct gp_spool **out, struct gp_err *err);
void gp_spool_close(struct gp_spool *s);

/* Writes the item atomically (tmp + fsync + rename), then drops the oldest items while the spool
 * exceeds max_bytes (logging how many). An item larger than the bound alone is refused (-E2BIG).
 * *dropped (may be NULL) receives the number dropped by this call. */
int gp_spool_put(struct gp_spool *s, const struct gp_spool_meta *m, const char *data, size_t len,
                 size_t *dropped, struct gp_err *err);
/* Reads the oldest item. -ENOENT when the spool is empty. A corrupt item is removed and the
 * next one read. Free with gp_spool_item_free. */
int gp_spool_oldest(struct gp_spool *s, struct gp_spool_item *it, struct gp_err *err);
void gp_spool_item_free(struct gp_spool_item *it);
/* Removes an item (after its upload succeeded, or was refused for good). */
int gp_spool_remove(struct gp_spool *s, uint64_t seq);
/* true when an item with this upload id is still waiting. */
int gp_spool_contains(struct gp_spool *s, const char *upload_id);

struct gp_spool_stats {
    size_t items;
    uint64_t bytes, max_bytes;
    uint64_t dropped; /* items dropped for space since open */
};
void gp_spool_stats(struct gp_spool *s, struct gp_spool_stats *out);

#endif
