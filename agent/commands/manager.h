/* manager.h — the CommandManager: a priority queue of profiling commands (stop > ad hoc >
 * continuous, FIFO within a class) that ignores ids it has seen and remembers the ids it executed
 * in the state directory (newest 1,000, written atomically), so a restart never runs one twice. */
#ifndef GPROF_AGENT_COMMANDS_MANAGER_H
#define GPROF_AGENT_COMMANDS_MANAGER_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/commands/command.h"
#include "common/err.h"

#define GP_CMDMGR_HISTORY   1000
#define GP_CMDMGR_QUEUE_MAX 64 /* per class; the oldest is dropped beyond it */

struct gp_cmdmgr;

/* state_dir NULL keeps the history in memory only. Loads STATE_DIR/executed_commands (one id per
 * line, oldest first); a missing file is an empty history. Thread-safe afterwards. */
int gp_cmdmgr_open(const char *state_dir, struct gp_cmdmgr **out, struct gp_err *err);
void gp_cmdmgr_close(struct gp_cmdmgr *m);

/* Records the id as received and queues the command. Returns 1 when queued, 0 when the id was
 * already received or executed (a heartbeat repeating the current command), -errno on error. */
int gp_cmdmgr_offer(struct gp_cmdmgr *m, const struct gp_command *c);
/* Records an id as received without queueing it (an invalid command reported failed). 1 new, 0
 * seen. */
int gp_cmdmgr_note_received(struct gp_cmdmgr *m, const char *id);
bool gp_cmdmgr_seen(struct gp_cmdmgr *m, const char *id);
bool gp_cmdmgr_executed(struct gp_cmdmgr *m, const char *id);

/* Copies the head of the highest-priority non-empty class. false when every queue is empty. */
bool gp_cmdmgr_peek(struct gp_cmdmgr *m, struct gp_command *out);
/* Copies the head of one class. */
bool gp_cmdmgr_peek_class(struct gp_cmdmgr *m, enum gp_cmd_class cls, struct gp_command *out);
/* Removes a queued command by id. true when it was queued. */
bool gp_cmdmgr_remove(struct gp_cmdmgr *m, const char *id);
/* Drops every queued command of a class (a host-level stop drops queued ad hoc commands); the
 * dropped commands are copied to out (up to max) so they can be reported. Returns the count. */
size_t gp_cmdmgr_clear_class(struct gp_cmdmgr *m, enum gp_cmd_class cls, struct gp_command *out,
                             size_t max);
/* Marks executed and rewrites the history file atomically (tmp + fsync + rename). */
int gp_cmdmgr_mark_executed(struct gp_cmdmgr *m, const char *id, struct gp_err *err);

/* Queue lengths per class. */
void gp_cmdmgr_counts(struct gp_cmdmgr *m, size_t counts[GP_CLASS_COUNT]);
/* Snapshot of the queue in execution order (for status): up to max copied, returns the total. */
size_t gp_cmdmgr_list(struct gp_cmdmgr *m, struct gp_command *out, size_t max);
/* The newest ids (newest last) for the heartbeat: received or executed. */
json_object *gp_cmdmgr_ids_json(struct gp_cmdmgr *m, bool executed, size_t max);
/* The last received id ("" when none). */
void gp_cmdmgr_last_id(struct gp_cmdmgr *m, char *buf, size_t len);

#endif
