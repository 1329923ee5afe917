/* fuzz_spool.c — the agent's state files, read back after a restart: a spool item's meta line
 * and the pending completions (one JSON object per line). A corrupt or hostile file must be
 * refused line by line, never crash, leak or overflow the fixed-size fields; whatever is
 * accepted fits them. The first byte picks the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/completions.h"
#include "agent/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void completions(char *text)
{
    static struct gp_completions *q; /* 670 KB: opened once, drained after every input */
    struct gp_err err = {0};
    if (!q && gp_completions_open(NULL, &q, &err))
        abort();
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        struct gp_completion c;
        if (gp_completion_parse(line, &c) != 0)
            continue;
        if (!memchr(c.id, '\0', sizeof(c.id)) || !c.id[0] ||
            !memchr(c.error, '\0', sizeof(c.error)) || !memchr(c.path, '\0', sizeof(c.path)))
            abort();
        if (gp_completions_push(q, &c, &err) || !gp_completions_has(q, c.id))
            abort();
    }
    struct gp_completion c;
    while (gp_completions_peek(q, &c))
        if (gp_completions_ack(q, c.id, &err) || gp_completions_has(q, c.id))
            abort();
    if (gp_completions_count(q))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1) {
        struct gp_spool_meta m;
        char *exact = malloc(size - 1 ? size - 1 : 1); /* no terminator: bounds only */
        if (!exact)
            return 0;
        memcpy(exact, data + 1, size - 1);
        if (gp_spool_meta_parse(exact, size - 1, &m) == 0 &&
            (!m.upload_id[0] || !memchr(m.upload_id, '\0', sizeof(m.upload_id)) ||
             !memchr(m.kind, '\0', sizeof(m.kind))))
            abort();
        free(exact);
        return 0;
    }
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    completions(s);
    free(s);
    return 0;
}
