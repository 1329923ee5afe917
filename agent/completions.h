/* completions.h — command completions waiting to be reported to the coordinator, kept in the state
 * directory (rewritten atomically on every change) so an agent restart sends them, once, later. */
#ifndef GPROF_AGENT_COMPLETIONS_H
#define GPROF_AGENT_COMPLETIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/commands/command.h"
#include "common/err.h"

#define GP_COMPLETIONS_MAX  256 /* beyond it the oldest is dropped, with a warning */
#define GP_COMPLETIONS_FILE "pending_completions"

struct gp_completion {
    char id[GP_CMD_ID_MAX];
    int ok;      /* 1 completed, 0 failed */
    double exec; /* execution time in seconds; < 0 = unknown */
    char error[512];
    char path[2048]; /* results_path ("" = none) */
};

struct gp_completions;

/* Parses one line of the file (NUL-terminated JSON). Returns 0, or -EINVAL when it is not a
 * completion. */
int gp_completion_parse(const char *line, struct gp_completion *c);

/* state_dir NULL keeps them in memory only. Loads STATE_DIR/pending_completions (one JSON object
 * per line, oldest first); a missing file is an empty queue, an unreadable line is skipped with a
 * warning. Thread-safe afterwards. */
int gp_completions_open(const char *state_dir, struct gp_completions **out, struct gp_err *err);
void gp_completions_close(struct gp_completions *q);

/* Appends a completion (a second one for the same id replaces the first) and saves the file
 * before returning. On a save error the completion is still queued in memory. */
int gp_completions_push(struct gp_completions *q, const struct gp_completion *c,
                        struct gp_err *err);
/* Copies the oldest. false when none waits. */
bool gp_completions_peek(struct gp_completions *q, struct gp_completion *out);
/* The coordinator acknowledged id (or refused it for good): removes it and saves the file. */
int gp_completions_ack(struct gp_completions *q, const char *id, struct gp_err *err);
size_t gp_completions_count(struct gp_completions *q);
bool gp_completions_has(struct gp_completions *q, const char *id);

#endif
