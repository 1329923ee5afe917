/* header.c — builds the gProfiler-compatible profile header. */
#include "agent/header.h"
#include "agent/unwind/unwind_user.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

void gp_format_utc(time_t t, char *buf, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
}

static json_object *jstr(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *jpct(double v)
{
    return v < 0 ? NULL : json_object_new_double(v);
}

struct containers_ctx {
    json_object *list;
    json_object *seen;
};

static int collect_container(const struct gp_stack_view *v, void *ctx)
{
    struct containers_ctx *c = ctx;
    if (!v->container[0] || json_object_object_get_ex(c->seen, v->container, NULL))
        return 0;
    json_object_object_add(c->seen, v->container, NULL);
    json_object_array_add(c->list, json_object_new_string(v->container));
    return 0;
}

/* gprof.unwind: walks by why they stopped, their frames, and the tables behind them. */
static struct json_object *unwind_json(const struct gp_sampler_stats *st,
                                       const struct gp_uw_registry_stats *u)
{
    struct json_object *o = json_object_new_object(), *walks = json_object_new_object();
    for (int i = 0; i < GP_UW_STOP_N; i++)
        json_object_object_add(walks, gp_uw_stop_name((enum gp_uw_stop)i),
                               json_object_new_uint64(st->unwind_stops[i]));
    json_object_object_add(o, "walks", walks);
    json_object_object_add(o, "frames", json_object_new_uint64(st->unwind_frames));
    json_object_object_add(o, "tables", json_object_new_uint64(u->tables));
    json_object_object_add(o, "tables_not_fitting", json_object_new_uint64(u->tables_not_fit));
    json_object_object_add(o, "tables_failed", json_object_new_uint64(u->tables_failed));
    json_object_object_add(o, "rows", json_object_new_uint64(u->rows));
    json_object_object_add(o, "kernel_bytes", json_object_new_uint64(u->kernel_bytes));
    json_object_object_add(o, "max_bytes", json_object_new_uint64(u->max_bytes));
    json_object_object_add(o, "build_ms", json_object_new_double((double)u->build_ns / 1e6));
    json_object_object_add(o, "processes", json_object_new_uint64(u->processes));
    json_object_object_add(o, "tables_idle", json_object_new_uint64(u->tables_idle));
    json_object_object_add(o, "tables_reused", json_object_new_uint64(u->tables_reused));
    json_object_object_add(o, "tables_over_limit", json_object_new_uint64(u->tables_over_limit));
    json_object_object_add(o, "mappings_over_limit",
                           json_object_new_uint64(u->mappings_over_limit));
    /* lazy tables: built when a process was noted, built after a miss, pending now */
    json_object_object_add(o, "tables_built", json_object_new_uint64(u->tables_built));
    json_object_object_add(o, "built_at_note", json_object_new_uint64(u->tables_built_at_note));
    json_object_object_add(o, "built_on_miss", json_object_new_uint64(u->tables_built_on_miss));
    json_object_object_add(o, "misses", json_object_new_uint64(u->misses));
    json_object_object_add(o, "misses_ignored", json_object_new_uint64(u->misses_ignored));
    json_object_object_add(o, "mappings_pending", json_object_new_uint64(u->mappings_pending));
    /* one registry shared by the agent's sessions: how many share it, and what this session's
     * processes and misses built (the counters above are the registry's) */
    json_object_object_add(o, "sessions", json_object_new_uint64(u->sessions));
    json_object_object_add(o, "session_tables_built",
                           json_object_new_uint64(u->client_tables_built));
    json_object_object_add(o, "session_built_at_note",
                           json_object_new_uint64(u->client_built_at_note));
    json_object_object_add(o, "session_built_on_miss",
                           json_object_new_uint64(u->client_built_on_miss));
    json_object_object_add(o, "session_build_ms",
                           json_object_new_double((double)u->client_build_ns / 1e6));
    json_object_object_add(o, "session_processes", json_object_new_uint64(u->client_processes));
    return o;
}

int gp_header_fill(struct gp_profile *p, const struct gp_header_info *hi)
{
    json_object *h = json_object_new_object();
    json_object *md = json_object_new_object();
    json_object *args = json_object_new_object();
    json_object *metrics = json_object_new_object();
    json_object *app = json_object_new_array();
    json_object *gp = json_object_new_object();
    json_object *drops = json_object_new_object();
    struct containers_ctx cc = {json_object_new_array(), json_object_new_object()};
    if (!h || !md || !args || !metrics || !app || !gp || !drops || !cc.list || !cc.seen) {
        json_object *all[] = {h, md, args, metrics, app, gp, drops, cc.list, cc.seen};
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
            json_object_put(all[i]);
        return -ENOMEM;
    }
    struct utsname u;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof(u));
    char start[32], end[32], now[32];
    gp_format_utc(hi->start, start, sizeof(start));
    gp_format_utc(hi->end, end, sizeof(end));
    gp_format_utc(time(NULL), now, sizeof(now));

    gp_profile_foreach(p, collect_container, &cc);
    json_object_put(cc.seen);
    json_object_object_add(h, "containers", cc.list);
    json_object_object_add(h, "container_names_enabled", json_object_new_boolean(1));

    json_object_object_add(md, "hostname", jstr(hi->hostname));
    json_object_object_add(md, "agent_version", jstr("gprof " GPROF_VERSION));
    json_object_object_add(md, "kernel_release", jstr(u.release));
    json_object_object_add(md, "kernel_version", jstr(u.version));
    json_object_object_add(md, "system_name", jstr(u.sysname));
    json_object_object_add(md, "hardware_type", jstr(u.machine));
    json_object_object_add(md, "processors",
                           json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_object_add(md, "run_mode", jstr(hi->run_mode));
    json_object_object_add(md, "start_time", jstr(start));
    json_object_object_add(md, "end_time", jstr(end));
    json_object_object_add(md, "current_time", jstr(now));
    json_object_object_add(md, "profiling_mode", jstr("cpu"));
    json_object_object_add(
            md, "continuous",
            json_object_new_boolean(hi->run_mode && !strcmp(hi->run_mode, "continuous")));
    json_object_object_add(args, "frequency", json_object_new_int((int)hi->freq_hz));
    json_object_object_add(args, "duration", json_object_new_double(hi->duration_s));
    json_object_object_add(args, "sampler", jstr(hi->sampler));
    /* gProfiler's values: "dwarf" when stacks were walked with CFI (unwind tables loaded), "fp"
     * when only frame pointers were */
    json_object_object_add(args, "perf_mode",
                           jstr(hi->unwind && hi->unwind->tables ? "dwarf" : "fp"));
    if (hi->service)
        json_object_object_add(args, "service_name", jstr(hi->service));
    json_object_object_add(md, "run_arguments", args);
    json_object_object_add(h, "metadata", md);

    json_object_object_add(metrics, "cpu_avg", jpct(hi->cpu_avg));
    json_object_object_add(metrics, "mem_avg", jpct(hi->mem_avg));
    json_object_object_add(h, "metrics", metrics);
    json_object_array_add(app, NULL);
    json_object_object_add(h, "application_metadata", app);
    json_object_object_add(h, "application_metadata_enabled", json_object_new_boolean(0));
    json_object_object_add(h, "profiling_mode", jstr("cpu"));
    json_object_object_add(h, "sampling_event", jstr(hi->event));
    json_object_object_add(h, "sampling_mode", jstr("frequency"));
    json_object_object_add(h, "sampling_frequency", json_object_new_int((int)hi->freq_hz));

    const struct gp_sampler_stats *st = &hi->sampler_stats;
    json_object_object_add(drops, "user_stack_errors",
                           json_object_new_uint64(st->user_stack_errors));
    json_object_object_add(drops, "kernel_stack_errors",
                           json_object_new_uint64(st->kernel_stack_errors));
    json_object_object_add(drops, "map_full", json_object_new_uint64(st->map_full));
    json_object_object_add(drops, "lost", json_object_new_uint64(st->lost));
    json_object_object_add(gp, "sampler", jstr(hi->sampler));
    json_object_object_add(gp, "samples", json_object_new_uint64(hi->samples));
    json_object_object_add(gp, "drops", drops);
    json_object_object_add(gp, "frames", json_object_new_uint64(hi->symbol_stats.frames));
    json_object_object_add(gp, "frames_unresolved",
                           json_object_new_uint64(hi->symbol_stats.unresolved));
    if (hi->unwind)
        json_object_object_add(gp, "unwind", unwind_json(st, hi->unwind));
    if (st->user_stacks_kernel_fp) /* old kernels only (agent/sampler/bpf_features.h) */
        json_object_object_add(gp, "user_stacks_kernel_fp",
                               json_object_new_uint64(st->user_stacks_kernel_fp));
    json_object_object_add(h, "gprof", gp);
    gp_profile_set_header(p, h);
    return 0;
}
