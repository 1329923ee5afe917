/* fuzz_json_member.c — the JSON fast path for an upload's "profile" member against json-c on
 * arbitrary bytes: whenever the fast path finds and decodes the member, json-c must accept the
 * document exactly when it accepts it with that member's value emptied (what envelope.c
 * parses), and then yield the same string; it must never crash or read out of bounds. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_member.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_object *parse_all(const char *doc, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(64);
    if (!tok)
        abort();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *o = json_tokener_parse_ex(tok, doc, (int)len);
    if (o && (json_tokener_get_error(tok) != json_tokener_success ||
              json_tokener_get_parse_end(tok) != len)) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *doc = (const char *)data;
    size_t qs, qe;
    if (size > (1u << 20) || !gp_json_find_string_member(doc, size, "profile", &qs, &qe))
        return 0;
    if (qs >= qe || qe >= size || doc[qs] != '"' || doc[qe] != '"')
        abort(); /* the span must be inside the document, between quotes */
    char *fast = malloc(qe - qs);
    size_t flen = 0;
    if (!fast)
        abort();
    if (gp_json_unescape_simple(doc + qs + 1, qe - qs - 1, fast, &flen)) {
        size_t slen = size - (qe - qs - 1);
        char *small = malloc(slen + 1);
        if (!small)
            abort();
        memcpy(small, doc, qs + 1);
        memcpy(small + qs + 1, doc + qe, size - qe);
        json_object *o = parse_all(doc, size), *so = parse_all(small, slen), *v;
        if (!o != !so)
            abort(); /* emptying the member must not change whether the document is valid */
        json_object_put(so);
        free(small);
        if (o) {
            /* json-c accepted the whole document: same member, same bytes */
            if (!json_object_object_get_ex(o, "profile", &v) ||
                !json_object_is_type(v, json_type_string) ||
                (size_t)json_object_get_string_len(v) != flen ||
                memcmp(json_object_get_string(v), fast, flen) != 0)
                abort();
        }
        json_object_put(o);
    }
    free(fast);
    return 0;
}
