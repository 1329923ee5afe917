/* fixture.c — replays recorded counter readings (JSON lines, tests/perfspect/README.md) through
 * the same engine as live sessions, so hardware paths are testable on hosts without a PMU. */
#include "perfspect/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INSTANCES 4096

static int get_u64(json_object *o, uint64_t *out)
{
    if (!o || (!json_object_is_type(o, json_type_int) && !json_object_is_type(o, json_type_double)))
        return -EINVAL;
    if (json_object_is_type(o, json_type_double)) {
        double d = json_object_get_double(o);
        if (!(d >= 0 && d < 1.8e19))
            return -EINVAL;
        *out = (uint64_t)d;
        return 0;
    }
    int64_t v = json_object_get_int64(o);
    if (v < 0)
        return -EINVAL;
    *out = (uint64_t)v;
    return 0;
}

static int parse_header(struct ps_report *r, json_object *h, int lineno, struct gp_err *err)
{
    json_object *v;
    if (!json_object_object_get_ex(h, "perfspect_fixture", &v) || json_object_get_int(v) != 1)
        return gp_err_set(err, -EINVAL,
                          "line %d: not a perfspect fixture header "
                          "(want {\"perfspect_fixture\":1,...})",
                          lineno);
    r->system_wide = 1;
    if (json_object_object_get_ex(h, "mode", &v) && json_object_is_type(v, json_type_string))
        r->system_wide = strcmp(json_object_get_string(v), "pids") != 0;
    if (json_object_object_get_ex(h, "pids", &v) && json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        if (n > 4096)
            return gp_err_set(err, -EINVAL, "line %d: too many pids", lineno);
        r->pids = n ? calloc(n, sizeof(pid_t)) : NULL;
        if (n && !r->pids)
            return gp_err_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
            r->pids[i] = (pid_t)json_object_get_int(json_object_array_get_idx(v, i));
        r->npids = n;
    }
    if (json_object_object_get_ex(h, "ncpus", &v))
        r->ncpus = json_object_get_int(v);
    if (json_object_object_get_ex(h, "interval_ms", &v) && json_object_get_int(v) > 0)
        r->interval_ms = (unsigned)json_object_get_int(v);
    if (json_object_object_get_ex(h, "gp_counters", &v))
        r->gp_counters = json_object_get_int(v);
    if (json_object_object_get_ex(h, "started_unix", &v))
        r->started_unix = json_object_get_int64(v);
    snprintf(r->hostname, sizeof(r->hostname), "fixture");
    if (json_object_object_get_ex(h, "hostname", &v) && json_object_is_type(v, json_type_string))
        snprintf(r->hostname, sizeof(r->hostname), "%s", json_object_get_string(v));
    r->topdown = PS_TD_NONE;
    if (json_object_object_get_ex(h, "topdown", &v) && json_object_is_type(v, json_type_string)) {
        const char *td = json_object_get_string(v);
        if (!strcmp(td, "perf_metrics"))
            r->topdown = PS_TD_PERF_METRICS;
        else if (!strcmp(td, "legacy"))
            r->topdown = PS_TD_LEGACY;
        else if (strcmp(td, "none") != 0)
            return gp_err_set(err, -EINVAL, "line %d: topdown must be perf_metrics|legacy|none",
                              lineno);
    }
    if (json_object_object_get_ex(h, "scale", &v) && json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, name, sc)
        {
            int ev = ps_event_by_name(name);
            double d = json_object_get_double(sc);
            if (ev < 0 || !(d > 0))
                return gp_err_set(err, -EINVAL, "line %d: bad scale for \"%s\"", lineno, name);
            r->ev_scale[ev] = d;
        }
    }
    if (json_object_object_get_ex(h, "refused", &v) && json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, name, why)
        {
            int ev = ps_event_by_name(name);
            if (ev < 0)
                return gp_err_set(err, -EINVAL, "line %d: unknown refused event \"%s\"", lineno,
                                  name);
            ps_report_refuse(r, (enum ps_ev)ev, 0, json_object_get_string(why));
        }
    }
    r->hw_tried = 1;
    if (json_object_object_get_ex(h, "hw_unavailable", &v) &&
        json_object_is_type(v, json_type_string))
        snprintf(r->hw_line, sizeof(r->hw_line), "hardware counters not available on this host: %s",
                 json_object_get_string(v));
    return 0;
}

static int parse_snapshot(struct ps_report *r, json_object *o, struct ps_snapshot *s, int lineno,
                          struct gp_err *err)
{
    memset(s, 0, sizeof(*s));
    json_object *v;
    if (!json_object_object_get_ex(o, "t_ns", &v) || get_u64(v, &s->t_ns))
        return gp_err_set(err, -EINVAL, "line %d: missing or bad \"t_ns\"", lineno);
    if (r->have_prev && s->t_ns < r->prev.t_ns)
        return gp_err_set(err, -EINVAL, "line %d: t_ns goes backwards", lineno);
    if (json_object_object_get_ex(o, "counters", &v)) {
        if (!json_object_is_type(v, json_type_object))
            return gp_err_set(err, -EINVAL, "line %d: \"counters\" must be an object", lineno);
        json_object_object_foreach(v, name, arr)
        {
            int ev = ps_event_by_name(name);
            if (ev < 0)
                return gp_err_set(err, -EINVAL, "line %d: unknown event \"%s\"", lineno, name);
            if (!json_object_is_type(arr, json_type_array))
                return gp_err_set(err, -EINVAL,
                                  "line %d: \"%s\" must be [[value, enabled, "
                                  "running], ...]",
                                  lineno, name);
            size_t n = json_object_array_length(arr);
            if (n == 0 || n > MAX_INSTANCES || s->reads[ev])
                return gp_err_set(err, -EINVAL, "line %d: \"%s\": 1..%d instances, once", lineno,
                                  name, MAX_INSTANCES);
            s->reads[ev] = calloc(n, sizeof(struct ps_read));
            if (!s->reads[ev])
                return gp_err_set(err, -ENOMEM, "out of memory");
            s->ninst[ev] = (int)n;
            for (size_t i = 0; i < n; i++) {
                json_object *t = json_object_array_get_idx(arr, i);
                struct ps_read *rd = &s->reads[ev][i];
                if (!json_object_is_type(t, json_type_array) || json_object_array_length(t) != 3 ||
                    get_u64(json_object_array_get_idx(t, 0), &rd->value) ||
                    get_u64(json_object_array_get_idx(t, 1), &rd->enabled) ||
                    get_u64(json_object_array_get_idx(t, 2), &rd->running) ||
                    rd->running > rd->enabled)
                    return gp_err_set(err, -EINVAL,
                                      "line %d: \"%s\"[%zu] must be [value, "
                                      "enabled, running] with running <= enabled",
                                      lineno, name, i);
            }
            r->ev_counted[ev] = 1;
        }
    }
    if (json_object_object_get_ex(o, "procstat", &v)) {
        uint64_t f[8] = {0};
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 8)
            return gp_err_set(err, -EINVAL,
                              "line %d: \"procstat\" must be [user, nice, system, "
                              "idle, iowait, irq, softirq, steal]",
                              lineno);
        for (size_t i = 0; i < 8; i++)
            if (get_u64(json_object_array_get_idx(v, i), &f[i]))
                return gp_err_set(err, -EINVAL, "line %d: bad procstat value", lineno);
        s->procstat = (struct ps_procstat){f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]};
        s->have_procstat = 1;
    }
    if (json_object_object_get_ex(o, "mem_used_kb", &v)) {
        if (get_u64(v, &s->mem_used_kb))
            return gp_err_set(err, -EINVAL, "line %d: bad mem_used_kb", lineno);
        s->have_mem = 1;
    }
    if (json_object_object_get_ex(o, "rss_kb", &v)) {
        if (get_u64(v, &s->rss_kb))
            return gp_err_set(err, -EINVAL, "line %d: bad rss_kb", lineno);
        s->have_rss = 1;
    }
    return 0;
}

int ps_replay_buffer(const char *data, size_t len, struct ps_report **out, struct gp_err *err)
{
    *out = NULL;
    struct ps_report *r = ps_report_new();
    if (!r)
        return gp_err_set(err, -ENOMEM, "out of memory");
    size_t pos = 0;
    int lineno = 0, have_header = 0, rc = 0;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos;
        const char *line = data + pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
            k++;
        if (k == n || line[k] == '#')
            continue; /* blank lines and comments */
        if (n > (1u << 24)) {
            rc = gp_err_set(err, -EINVAL, "line %d: longer than 16 MiB", lineno);
            break;
        }
        json_tokener *tok = json_tokener_new();
        if (!tok) {
            rc = gp_err_set(err, -ENOMEM, "out of memory");
            break;
        }
        json_object *o = json_tokener_parse_ex(tok, line, (int)n);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        json_tokener_free(tok);
        if (!o || jerr != json_tokener_success || !json_object_is_type(o, json_type_object)) {
            json_object_put(o);
            rc = gp_err_set(err, -EINVAL, "line %d: not a JSON object", lineno);
            break;
        }
        if (!have_header) {
            rc = parse_header(r, o, lineno, err);
            have_header = 1;
        } else {
            struct ps_snapshot s;
            rc = parse_snapshot(r, o, &s, lineno, err);
            if (!rc)
                rc = ps_report_push(r, &s, err);
            ps_snapshot_clear(&s);
        }
        json_object_put(o);
        if (rc)
            break;
    }
    if (!rc && !have_header)
        rc = gp_err_set(err, -EINVAL, "empty fixture: no header line");
    if (rc) {
        ps_report_free(r);
        return rc;
    }
    if (!r->hw_line[0] && !ps_report_hw_available(r))
        snprintf(r->hw_line, sizeof(r->hw_line),
                 "hardware counters not available on this host: none recorded in the fixture");
    *out = r;
    return 0;
}

int ps_replay_file(const char *path, struct ps_report **out, struct gp_err *err)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return gp_err_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 65536;
            if (cap > (256u << 20)) {
                free(buf);
                fclose(f);
                return gp_err_set(err, -EFBIG, "%s: larger than 256 MiB", path);
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return gp_err_set(err, -ENOMEM, "out of memory reading %s", path);
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return gp_err_set(err, -EIO, "cannot read %s", path);
    }
    int rc = ps_replay_buffer(buf, len, out, err);
    free(buf);
    if (rc)
        gp_err_prefix(err, "%s", path);
    return rc;
}
