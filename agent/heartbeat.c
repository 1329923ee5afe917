/* heartbeat.c — heartbeat and command completion requests. */
#include "agent/heartbeat.h"
#include "agent/header.h"
#include "agent/httpjson.h"
#include "common/strbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void local_ip(char *buf, size_t len)
{
    snprintf(buf, len, "127.0.0.1");
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
    inet_pton(AF_INET, "8.8.8.8", &a.sin_addr);
    struct sockaddr_in me;
    socklen_t ml = sizeof(me);
    /* a UDP connect sends nothing; it only picks the route and so the source address */
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&me, &ml) == 0)
        inet_ntop(AF_INET, &me.sin_addr, buf, (socklen_t)len);
    close(fd);
}

void gp_hb_probe_facts(struct gp_hb_facts *f, const char *sampler)
{
    memset(f, 0, sizeof(*f));
    local_ip(f->ip, sizeof(f->ip));
    snprintf(f->sampler, sizeof(f->sampler), "%s", sampler ? sampler : "bpf");
    static const struct {
        const char *name;
        unsigned long long config;
    } ev[] = {
            {"cycles", PERF_COUNT_HW_CPU_CYCLES},
            {"instructions", PERF_COUNT_HW_INSTRUCTIONS},
            {"cache-misses", PERF_COUNT_HW_CACHE_MISSES},
            {"cache-references", PERF_COUNT_HW_CACHE_REFERENCES},
            {"branch-misses", PERF_COUNT_HW_BRANCH_MISSES},
            {"branch-instructions", PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
            {"stalled-cycles-frontend", PERF_COUNT_HW_STALLED_CYCLES_FRONTEND},
            {"stalled-cycles-backend", PERF_COUNT_HW_STALLED_CYCLES_BACKEND},
    };
    for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
        struct perf_event_attr a = {.type = PERF_TYPE_HARDWARE,
                                    .size = sizeof(a),
                                    .config = ev[i].config,
                                    .disabled = 1,
                                    .exclude_kernel = 1,
                                    .exclude_hv = 1};
        int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            snprintf(f->hw_events[f->nhw_events++], sizeof(f->hw_events[0]), "%s", ev[i].name);
        }
    }
}

static json_object *jstr(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

json_object *gp_hb_body(const struct gp_hb_client *c, const struct gp_hb_facts *f,
                        struct gp_cmdmgr *m, json_object *running)
{
    json_object *o = json_object_new_object();
    if (!o) {
        json_object_put(running);
        return NULL;
    }
    char last[GP_CMD_ID_MAX], ts[40];
    gp_cmdmgr_last_id(m, last, sizeof(last));
    /* gProfiler sends local time without a zone; we send UTC and say so */
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
    json_object_object_add(o, "ip_address", jstr(f->ip));
    json_object_object_add(o, "hostname", jstr(c->hostname));
    json_object_object_add(o, "service_name", jstr(c->service));
    json_object_object_add(o, "last_command_id", last[0] ? jstr(last) : NULL);
    json_object_object_add(o, "status", jstr("active"));
    json_object_object_add(o, "timestamp", jstr(ts));
    json_object_object_add(o, "received_command_ids", gp_cmdmgr_ids_json(m, false, 100));
    json_object_object_add(o, "executed_command_ids", gp_cmdmgr_ids_json(m, true, 100));
    json_object_object_add(o, "agent_version", jstr("gprof " GPROF_VERSION));
    json_object_object_add(o, "run_mode", jstr("standalone"));
    json_object *ev = json_object_new_array(), *ev2 = json_object_new_array();
    for (unsigned i = 0; i < f->nhw_events; i++) {
        json_object_array_add(ev, json_object_new_string(f->hw_events[i]));
        json_object_array_add(ev2, json_object_new_string(f->hw_events[i]));
    }
    json_object_object_add(o, "perf_supported_events", ev);
    json_object *cap = json_object_new_object();
    json_object_object_add(cap, "sampler", jstr(f->sampler));
    json_object_object_add(cap, "software_events", json_object_new_array());
    json_object_array_add(json_object_object_get(cap, "software_events"), jstr("cpu-clock"));
    json_object_object_add(cap, "hardware_events", ev2);
    json_object_object_add(cap, "max_frequency", json_object_new_int(GP_CMD_MAX_FREQ));
    json_object_object_add(cap, "max_duration", json_object_new_int(GP_CMD_MAX_DURATION));
    json_object_object_add(cap, "process_stop", json_object_new_boolean(1));
    json_object_object_add(o, "capabilities", cap);
    json_object_object_add(o, "running_sessions", running ? running : json_object_new_array());
    return o;
}

int gp_hb_reply(const char *base_url, long status, json_object *reply, char **command_id,
                json_object **pc, struct gp_err *err)
{
    *command_id = NULL;
    *pc = NULL;
    if (status != 200) {
        json_object *m = reply ? json_object_object_get(reply, "message") : NULL;
        if (!m && reply)
            m = json_object_object_get(reply, "detail");
        return gp_err_set(err, status >= 500 || status == 429 || status == 408 ? -EAGAIN : -EPROTO,
                          "heartbeat to %s: HTTP %ld: %s", base_url, status,
                          m ? json_object_get_string(m) : "no message");
    }
    json_object *ok = json_object_object_get(reply, "success");
    json_object *cmd = json_object_object_get(reply, "profiling_command");
    json_object *id = json_object_object_get(reply, "command_id");
    if (ok && json_object_get_boolean(ok) && cmd && json_object_is_type(cmd, json_type_object) &&
        id && json_object_get_string(id)) {
        *command_id = strdup(json_object_get_string(id));
        if (!*command_id)
            return gp_err_set(err, -ENOMEM, "out of memory");
        *pc = json_object_get(cmd);
    }
    return 0;
}

int gp_hb_send(const struct gp_hb_client *c, json_object *body, char **command_id, json_object **pc,
               struct gp_err *err)
{
    *command_id = NULL;
    *pc = NULL;
    struct strbuf url = STRBUF_INIT;
    sb_printf(&url, "%s/api/metrics/heartbeat", c->base_url);
    long status = 0;
    json_object *reply = NULL;
    int rc = gp_http_json("POST", sb_str(&url), c->token,
                          json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
                          c->timeout_s ? c->timeout_s : 30, GP_HTTP_CONTROL_REPLY_MAX, &status,
                          &reply, err);
    if (rc)
        goto out;
    rc = gp_hb_reply(c->base_url, status, reply, command_id, pc, err);
out:
    json_object_put(reply);
    sb_free(&url);
    return rc;
}

int gp_hb_complete(const struct gp_hb_client *c, const char *command_id, const char *status,
                   double execution_time_s, const char *error, const char *results_path,
                   struct gp_err *err)
{
    json_object *o = json_object_new_object();
    if (!o)
        return gp_err_set(err, -ENOMEM, "out of memory");
    json_object_object_add(o, "command_id", jstr(command_id));
    json_object_object_add(o, "hostname", jstr(c->hostname));
    json_object_object_add(o, "service_name", jstr(c->service));
    json_object_object_add(o, "status", jstr(status));
    json_object_object_add(
            o, "execution_time",
            execution_time_s < 0 ? NULL : json_object_new_int64((int64_t)(execution_time_s + 0.5)));
    json_object_object_add(o, "error_message", jstr(error));
    json_object_object_add(o, "results_path", jstr(results_path));
    struct strbuf url = STRBUF_INIT;
    sb_printf(&url, "%s/api/metrics/command_completion", c->base_url);
    long st = 0;
    json_object *reply = NULL;
    int rc = gp_http_json("POST", sb_str(&url), c->token,
                          json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                          c->timeout_s ? c->timeout_s : 30, GP_HTTP_CONTROL_REPLY_MAX, &st, &reply,
                          err);
    if (!rc && st != 200) {
        json_object *m = reply ? json_object_object_get(reply, "message") : NULL;
        rc = gp_err_set(err, st >= 500 || st == 429 ? -EAGAIN : -EPROTO,
                        "command completion for %s: HTTP %ld: %s", command_id, st,
                        m ? json_object_get_string(m) : "no message");
    } else if (!rc) {
        json_object *ok = json_object_object_get(reply, "success");
        json_object *m = json_object_object_get(reply, "message");
        if (ok && !json_object_get_boolean(ok))
            rc = gp_err_set(err, -EPROTO, "command completion for %s not recorded: %s", command_id,
                            m ? json_object_get_string(m) : "no message");
    }
    json_object_put(reply);
    json_object_put(o);
    sb_free(&url);
    return rc;
}
