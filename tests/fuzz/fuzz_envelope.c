/* fuzz_envelope.c — the upload envelope parser (JSON body, "# {header}", collapsed lines, token
 * scrubbing) must reject garbage with a message and never crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "coordinator/api/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct upload_envelope e;
    struct gp_err err = {0};
    if (envelope_parse((const char *)data, size, &e, &err) == 0) {
        /* accepted text never carries a token field and starts with the header */
        if (e.text_len < 2 || e.text[0] != '#')
            __builtin_trap();
        envelope_free(&e);
    } else if (err.msg[0] == '\0') {
        __builtin_trap(); /* every rejection explains itself */
    }
    return 0;
}
