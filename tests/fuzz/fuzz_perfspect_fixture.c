/* fuzz_perfspect_fixture.c — the PerfSpect fixture parser and every report writer on arbitrary
 * bytes: must never crash, leak or hang; a failure explains itself and leaves no report. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perfspect/perfspect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ps_report *r = NULL;
    struct gp_err err = {0};
    if (ps_replay_buffer((const char *)data, size, &r, &err)) {
        if (r || err.msg[0] == '\0')
            abort();
        return 0;
    }
    json_object *j = NULL;
    if (ps_report_json(r, &j, &err))
        abort();
    json_object_put(j);
    json_object *h = json_object_new_object();
    if (!h || ps_header_fields(r, h, &err))
        abort();
    json_object_put(h);
    FILE *f = fopen("/dev/null", "w");
    if (f) {
        ps_report_print_table(r, f);
        for (size_t i = 0; i < ps_report_ninterval(r); i++)
            ps_report_print_interval(r, i, f);
        fclose(f);
    }
    ps_report_free(r);
    return 0;
}
