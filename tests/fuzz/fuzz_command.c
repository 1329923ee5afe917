/* fuzz_command.c — what the agent reads from a coordinator: a heartbeat reply (HTTP status and
 * JSON body) and the profiling command inside it, parsed and validated. Arbitrary bytes must
 * never crash, leak or hit UB; a valid command stays inside its documented bounds. The first
 * byte picks the HTTP status and the hostname the command may target. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/commands/command.h"
#include "agent/heartbeat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_command(const char *id, json_object *pc, const char *host)
{
    struct gp_command c;
    struct gp_err err = {0};
    int rc = gp_command_parse(id, pc, host, &c, &err);
    if (rc < 0 && err.msg[0] == '\0')
        abort(); /* a refusal explains itself (it is reported as the failure) */
    if (rc == 0 && c.type == GP_CMD_START &&
        (c.freq_hz < GP_CMD_MIN_FREQ || c.freq_hz > GP_CMD_MAX_FREQ ||
         c.duration_s < GP_CMD_MIN_DURATION || c.duration_s > GP_CMD_MAX_DURATION))
        abort();
    if (rc == 0 && c.npids > GP_CMD_MAX_PIDS)
        abort();
    for (size_t i = 0; rc == 0 && i < c.npids; i++)
        if (c.pids[i] <= 0)
            abort();
    if (rc == 0) {
        char d[256];
        gp_command_describe(&c, d, sizeof(d));
        (void)gp_command_class(&c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {200, 200, 200, 401, 404, 429, 500, 503};
    if (size < 1)
        return 0;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    json_object *reply = json_tokener_parse(s);
    const char *host = data[0] & 8 ? "web-1" : "host";
    if (data[0] & 16) { /* the profiling_command object alone (gprofctl's path) */
        if (reply)
            check_command("cmd-1", reply, host);
    } else {
        char *id = NULL;
        json_object *pc = NULL;
        struct gp_err err = {0};
        int rc = gp_hb_reply("http://coord", statuses[data[0] & 7], reply, &id, &pc, &err);
        if (rc && (id || pc || err.msg[0] == '\0'))
            abort();
        if (!rc && !id != !pc)
            abort(); /* a command comes with its id, or neither */
        if (pc)
            check_command(id, pc, host);
        json_object_put(pc);
        free(id);
    }
    json_object_put(reply);
    free(s);
    return 0;
}
