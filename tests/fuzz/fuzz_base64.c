/* fuzz_base64.c — base64 (profile headers' htmlblob) on arbitrary bytes: decoding garbage fails
 * with a message and never reads out of bounds; whatever is encoded decodes back identically,
 * and what decodes re-encodes to a text that decodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct strbuf enc = STRBUF_INIT, dec = STRBUF_INIT, d2 = STRBUF_INIT, e2 = STRBUF_INIT;
    struct gp_err err = {0};
    if (gp_base64_encode(data, size, &enc) || gp_base64_decode(enc.buf, enc.len, &dec, &err) ||
        dec.len != size || (size && memcmp(dec.buf, data, size) != 0))
        abort(); /* round trip */
    if (enc.len != (size + 2) / 3 * 4)
        abort();
    sb_free(&dec);
    dec = (struct strbuf)STRBUF_INIT;
    if (gp_base64_decode((const char *)data, size, &dec, &err) == 0) {
        if (gp_base64_encode(dec.buf, dec.len, &e2) ||
            gp_base64_decode(e2.buf, e2.len, &d2, &err) || d2.len != dec.len ||
            (dec.len && memcmp(d2.buf, dec.buf, dec.len) != 0))
            abort();
    } else if (err.msg[0] == '\0') {
        abort();
    }
    sb_free(&enc);
    sb_free(&dec);
    sb_free(&d2);
    sb_free(&e2);
    return 0;
}
