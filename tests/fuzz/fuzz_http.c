/* fuzz_http.c — request-side parsers the HTTP layer runs on untrusted input: bounded gzip
 * inflation, listen addresses, timestamps and profile requests. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "coordinator/api/control_json.h"
#include "coordinator/control/command.h"
#include "common/gzip.h"
#include "coordinator/http/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gp_err err = {0};
    char *out = NULL;
    size_t n = 0;
    if (gz_inflate(data, size, 1u << 20, &out, &n, &err) == 0) {
        if (n > (1u << 20) || out[n] != '\0')
            __builtin_trap();
        free(out);
    }
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char host[256];
    uint16_t port;
    (void)http_parse_listen(s, host, sizeof(host), &port, &err);
    int64_t t;
    (void)tu_parse(s, &t);
    json_object *o = json_tokener_parse(s);
    if (o) {
        struct cp_request r;
        if (cj_request_parse(o, &r, &err) == 0)
            cp_request_free(&r);
        struct cp_config c;
        if (cj_config_from_json(o, &c, &err) == 0) {
            json_object *j = cj_config_to_json(&c);
            json_object_put(j);
            cp_config_free(&c);
        }
        json_object_put(o);
    }
    free(s);
    return 0;
}
