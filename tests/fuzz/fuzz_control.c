/* fuzz_control.c — the agent's control socket, one JSON line each way: what the server answers
 * to any request line (handler reached only with a JSON object) and how gprofctl reads any
 * answer line. Never a crash or leak; every refusal is a JSON object saying why. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/control/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_object *echo(json_object *req, void *ctx)
{
    if (!json_object_is_type(req, json_type_object))
        abort();
    ++*(int *)ctx;
    json_object *v, *o = json_object_new_object();
    const char *cmd = json_object_object_get_ex(req, "cmd", &v) ? json_object_get_string(v) : NULL;
    json_object_object_add(o, "ok", json_object_new_boolean(cmd != NULL));
    if (cmd)
        json_object_object_add(o, "cmd", json_object_new_string(cmd));
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > GP_CONTROL_MAX_LINE + 1)
        return 0;
    char *line = malloc(size + 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    int calls = 0;
    json_object *resp = gp_control_answer(line, echo, &calls), *ok;
    if (!resp || !json_object_object_get_ex(resp, "ok", &ok))
        abort();
    if (!calls && !json_object_object_get_ex(resp, "error", &ok))
        abort(); /* a refused request says why */
    json_object_put(resp);
    struct gp_err err = {0};
    if (gp_control_parse_answer(line, &resp, &err) == 0)
        json_object_put(resp);
    else if (resp || err.msg[0] == '\0')
        abort();
    free(line);
    return 0;
}
