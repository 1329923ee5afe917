/* state.h — what the gprof-agent daemon holds while it runs (slots, command manager, spool,
 * heartbeat, control socket), shared by its lifecycle, command dispatch and control handlers. */
#ifndef GPROF_AGENT_DAEMON_STATE_H
#define GPROF_AGENT_DAEMON_STATE_H

#include <pthread.h>
#include <time.h>

#include "common/backoff.h"
#include "agent/commands/manager.h"
#include "agent/completions.h"
#include "agent/control/control.h"
#include "agent/daemon/config.h"
#include "agent/heartbeat.h"
#include "agent/results.h"
#include "agent/sender.h"
#include "agent/slots.h"
#include "agent/spool.h"

#define MAX_RESULTS 64

struct agent {
    struct agent_cfg cfg;
    char hostname[256], service[256], coordinator[1024], token[512], state_dir[2048];
    char marker[2200]; /* STATE_DIR/adhoc_running: the ad hoc command in flight */
    struct gp_cmdmgr *mgr;
    struct gp_completions *pending; /* STATE_DIR/pending_completions: not yet acknowledged */
    struct gp_results results, adhoc_results;
    struct gp_spool *spool;
    struct gp_sender *sender;
    struct gp_cont_slot *cont;
    struct gp_adhoc_slot *adhoc;
    struct gp_control *control;
    struct gp_hb_client hb;
    struct gp_hb_facts facts;
    struct gp_backoff hb_backoff;
    time_t spawn;

    pthread_mutex_t mu;                        /* guards everything below */
    struct gp_slot_result recent[MAX_RESULTS]; /* ring of finished ad hoc sessions */
    size_t nrecent;
    time_t last_hb, last_hb_ok;
    char last_hb_error[512];
    unsigned long heartbeats, hb_failures, commands_run;
    struct gp_metrics_http *metrics_http; /* local GET /metrics (metrics_listen), or NULL */
    unsigned long local_seq;
};

#endif
