/* reply.c — fields of the messages agents and users send the control plane (identifier
 * checks) and its {success, message} replies. */
#include "coordinator/control/plane_internal.h"
#include "common/ident.h"

#include <stdio.h>

const char *cpi_jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

json_object *cpi_msg_obj(bool success, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "success", json_object_new_boolean(success));
    json_object_object_add(o, "message", json_object_new_string(msg));
    return o;
}

/* Checks the string field key of o against the identifier rule (common/ident.h) with at most
 * max bytes; false with problem set when present and invalid. An empty string passes only for
 * optional fields (agents send "" for an unknown address or version). */
static bool check_field_ex(json_object *o, const char *key, size_t max, bool optional,
                           char *problem, size_t psz)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return true;
    char why[128];
    if (optional && json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0)
        return true;
    if (!json_object_is_type(v, json_type_string))
        snprintf(why, sizeof(why), "is not a string");
    else if (gp_ident_check(json_object_get_string(v), (size_t)json_object_get_string_len(v), max,
                            why, sizeof(why)) == 0)
        return true;
    snprintf(problem, psz, "field '%s' %s", key, why);
    return false;
}

bool cpi_check_field(json_object *o, const char *key, size_t max, char *problem, size_t psz)
{
    return check_field_ex(o, key, max, false, problem, psz);
}

bool cpi_check_optional(json_object *o, const char *key, size_t max, char *problem, size_t psz)
{
    return check_field_ex(o, key, max, true, problem, psz);
}

/* Checks an optional list of command ids: strings of 1..HB_MAX_CMD_ID identifier bytes. */
bool cpi_check_id_list(json_object *o, const char *key, char *problem, size_t psz)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return true;
    if (!json_object_is_type(v, json_type_array)) {
        snprintf(problem, psz, "field '%s' must be a list of command ids", key);
        return false;
    }
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        char why[128];
        if (!json_object_is_type(e, json_type_string))
            snprintf(why, sizeof(why), "is not a string");
        else if (gp_ident_check(json_object_get_string(e), (size_t)json_object_get_string_len(e),
                                HB_MAX_CMD_ID, why, sizeof(why)) == 0)
            continue;
        snprintf(problem, psz, "field '%s'[%zu] %s", key, i, why);
        return false;
    }
    return true;
}
