/* command.c — parsing and validating a profiling command's combined_config. */
#include "agent/commands/command.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum gp_cmd_class gp_command_class(const struct gp_command *c)
{
    if (c->type == GP_CMD_STOP)
        return GP_CLASS_STOP;
    return c->continuous ? GP_CLASS_CONTINUOUS : GP_CLASS_ADHOC;
}

/* An integer from a JSON number or a numeric string; -EINVAL for anything else. */
static int json_int(json_object *v, long long *out)
{
    if (json_object_is_type(v, json_type_int)) {
        errno = 0;
        *out = json_object_get_int64(v);
        return 0;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        /* outside [-2^63, 2^63), or NaN, converting to long long is undefined */
        if (!(d >= -0x1p63 && d < 0x1p63) || d != (double)(long long)d)
            return -EINVAL;
        *out = (long long)d;
        return 0;
    }
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (!*s || *end || errno)
            return -EINVAL;
        *out = x;
        return 0;
    }
    return -EINVAL;
}

static int get_bool(json_object *cfg, const char *key, int def)
{
    json_object *v;
    if (!json_object_object_get_ex(cfg, key, &v) || !v)
        return def;
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        return !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes");
    }
    return json_object_get_boolean(v);
}

static int hostname_targeted(json_object *cfg, const char *hostname)
{
    json_object *th;
    if (!json_object_object_get_ex(cfg, "target_hostnames", &th) || !th)
        return 1;
    if (json_object_is_type(th, json_type_string))
        return !strcmp(json_object_get_string(th), hostname);
    if (!json_object_is_type(th, json_type_array))
        return 1;
    size_t n = json_object_array_length(th);
    if (!n)
        return 1;
    for (size_t i = 0; i < n; i++) {
        const char *h = json_object_get_string(json_object_array_get_idx(th, i));
        if (h && !strcmp(h, hostname))
            return 1;
    }
    return 0;
}

int gp_command_parse(const char *id, json_object *pc, const char *hostname, struct gp_command *out,
                     struct gp_err *err)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", id ? id : "");
    out->received = time(NULL);
    out->duration_s = 60;
    out->freq_hz = 11;
    out->max_processes = 10;
    if (!id || !*id || strlen(id) >= sizeof(out->id))
        return gp_err_set(err, -EINVAL, "command id missing or longer than %d characters",
                          GP_CMD_ID_MAX - 1);
    if (!pc || !json_object_is_type(pc, json_type_object))
        return gp_err_set(err, -EINVAL, "profiling_command is not a JSON object");
    json_object *cfg = NULL, *v;
    if (!json_object_object_get_ex(pc, "combined_config", &cfg) || !cfg ||
        !json_object_is_type(cfg, json_type_object))
        cfg = pc; /* tolerate a flat command */
    const char *type = NULL;
    if (json_object_object_get_ex(pc, "command_type", &v) && v)
        type = json_object_get_string(v);
    if (!type && json_object_object_get_ex(cfg, "command_type", &v) && v)
        type = json_object_get_string(v);
    if (!type)
        return gp_err_set(err, -EINVAL, "command_type missing");
    if (!strcmp(type, "start"))
        out->type = GP_CMD_START;
    else if (!strcmp(type, "stop"))
        out->type = GP_CMD_STOP;
    else
        return gp_err_set(err, -EINVAL, "Unknown command type: %.60s (use start or stop)", type);
    if (!hostname_targeted(cfg, hostname))
        return 1;

    const char *lvl = NULL;
    if (json_object_object_get_ex(cfg, "stop_level", &v) && v)
        lvl = json_object_get_string(v);
    json_object *pids = NULL;
    if (json_object_object_get_ex(cfg, "pids", &pids) && pids) {
        if (json_object_is_type(pids, json_type_array)) {
            size_t n = json_object_array_length(pids);
            if (n > GP_CMD_MAX_PIDS)
                return gp_err_set(err, -EINVAL, "too many pids (%zu); at most %d per command", n,
                                  GP_CMD_MAX_PIDS);
            for (size_t i = 0; i < n; i++) {
                long long p;
                json_object *e = json_object_array_get_idx(pids, i);
                if (json_int(e, &p) || p <= 0 || p > INT_MAX)
                    return gp_err_set(err, -EINVAL,
                                      "pid '%.40s' is not a process id (a positive number)",
                                      e ? json_object_get_string(e) : "null");
                int dup = 0;
                for (size_t k = 0; k < out->npids; k++)
                    dup |= out->pids[k] == (int)p;
                if (!dup)
                    out->pids[out->npids++] = (int)p;
            }
        } else if (!json_object_is_type(pids, json_type_null)) {
            return gp_err_set(err, -EINVAL, "pids must be a list of process ids");
        }
    }
    if (out->type == GP_CMD_STOP) {
        /* a stop naming pids is process level unless it says host; without pids it is host */
        out->stop_host = (lvl && !strcmp(lvl, "host")) || out->npids == 0;
        if (out->stop_host)
            out->npids = 0;
        return 0;
    }
    out->stop_level_process = lvl && !strcmp(lvl, "process");
    out->continuous = get_bool(cfg, "continuous", 0);
    out->enable_perfspect = get_bool(cfg, "enable_perfspect", 0);
    long long x;
    if (json_object_object_get_ex(cfg, "frequency", &v) && v) {
        if (json_int(v, &x) || x < GP_CMD_MIN_FREQ || x > GP_CMD_MAX_FREQ)
            return gp_err_set(err, -EINVAL, "frequency '%.40s' is invalid: use %d to %d Hz",
                              json_object_get_string(v), GP_CMD_MIN_FREQ, GP_CMD_MAX_FREQ);
        out->freq_hz = (unsigned)x;
    }
    if (json_object_object_get_ex(cfg, "duration", &v) && v) {
        if (json_int(v, &x) || x < GP_CMD_MIN_DURATION || x > GP_CMD_MAX_DURATION)
            return gp_err_set(err, -EINVAL,
                              "duration '%.40s' is invalid: use %d to %d seconds (24 h)",
                              json_object_get_string(v), GP_CMD_MIN_DURATION, GP_CMD_MAX_DURATION);
        out->duration_s = (unsigned)x;
    }
    if (json_object_object_get_ex(cfg, "max_processes", &v) && v) {
        if (json_int(v, &x) || x < 1 || x > 100000)
            return gp_err_set(err, -EINVAL, "max_processes '%.40s' is invalid: use 1 to 100000",
                              json_object_get_string(v));
        out->max_processes = (unsigned)x;
    }
    if (json_object_object_get_ex(cfg, "profiling_mode", &v) && v) {
        const char *m = json_object_get_string(v);
        if (m && strcmp(m, "cpu") && strcmp(m, "none"))
            return gp_err_set(err, -EINVAL,
                              "profiling_mode '%.40s' is not supported by gprof: use cpu", m);
    }
    return 0;
}

void gp_command_describe(const struct gp_command *c, char *buf, size_t len)
{
    int n;
    if (c->type == GP_CMD_STOP)
        n = snprintf(buf, len, "%s stop", c->stop_host ? "host" : "process");
    else
        n = snprintf(buf, len, "%s start %u s at %u Hz", c->continuous ? "continuous" : "adhoc",
                     c->duration_s, c->freq_hz);
    if (n < 0 || (size_t)n >= len)
        return;
    if (c->npids) {
        n += snprintf(buf + n, len - (size_t)n, ", pids");
        for (size_t i = 0; i < c->npids && (size_t)n < len; i++)
            n += snprintf(buf + n, len - (size_t)n, "%c%d", i ? ',' : ' ', c->pids[i]);
    } else if (c->type == GP_CMD_START && (size_t)n < len) {
        snprintf(buf + n, len - (size_t)n, ", whole host");
    }
}
