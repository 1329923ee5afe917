/* fuzz_symtab.c — the two symbol-table inputs the agent reads: /proc/kallsyms text (and JIT perf
 * maps, same table) and the per-boot table file it maps back. Arbitrary bytes must never crash
 * or leak; every parsed table must be sorted with no overlap and survive a save/map round trip,
 * and every lookup must return a NUL-terminated name from inside the table or NULL. The first byte
 * picks the input kind. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/symbols/kallsyms.h"
#include "agent/symbols/perfmap.h"
#include "agent/symbols/rangetab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* parsed: built by finish(), which sorts and drops shadowed entries. A mapped file is only
 * checked for its shape: out of order it names wrongly, but must not crash. */
static void probe(const struct gp_rangetab *t, const uint8_t *data, size_t size, int parsed)
{
    for (size_t i = 1; parsed && i < t->n; i++)
        if (t->v[i - 1].start >= t->v[i].start)
            abort();
    uint64_t addrs[4] = {0, UINT64_MAX, 0, 0};
    if (t->n) {
        addrs[2] = t->v[0].start;
        addrs[3] = t->v[t->n - 1].start + (size ? data[size - 1] : 0);
    }
    for (size_t i = 0; i < 4; i++) {
        const char *name = gp_rangetab_lookup(t, addrs[i]);
        if (name && (name < t->strs || name >= t->strs + t->slen ||
                     !memchr(name, '\0', (size_t)(t->strs + t->slen - name))))
            abort();
    }
}

/* Saves a table, maps it back under the same tag: it must come back identical. */
static void round_trip(const struct gp_rangetab *t)
{
    int fd = memfd_create("fuzz_symtab", MFD_CLOEXEC);
    if (fd < 0)
        return;
    struct gp_rangetab m = {0};
    if (gp_rangetab_save(t, fd, "tag", 3) != 0 || gp_rangetab_map(&m, fd, "tag", 3) != 0)
        abort();
    if (m.n != t->n || m.slen != t->slen ||
        (t->n && memcmp(m.v, t->v, t->n * sizeof(*t->v)) != 0) ||
        (t->slen && memcmp(m.strs, t->strs, t->slen) != 0)) /* an empty table has NULL arrays */
        abort();
    struct gp_rangetab other = {0};
    if (gp_rangetab_map(&other, fd, "tag2", 4) != -ESTALE)
        abort();
    gp_rangetab_free(&m);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    struct gp_rangetab t = {0};
    struct gp_err err = {0};
    switch (data[0] % 3) {
    case 0:
        if (gp_kallsyms_parse(text, len, &t, &err) == 0) {
            probe(&t, data, size, 1);
            round_trip(&t);
        }
        break;
    case 1:
        if (gp_perfmap_parse(text, len, &t, &err) == 0) {
            probe(&t, data, size, 1);
            round_trip(&t);
        }
        break;
    default: { /* the table file itself, as found in the cache directory */
        int fd = memfd_create("fuzz_symtab", MFD_CLOEXEC);
        if (fd < 0)
            return 0;
        if (write(fd, text, len) == (ssize_t)len && gp_rangetab_map(&t, fd, "tag", 3) == 0)
            probe(&t, data, size, 0);
        close(fd);
        break;
    }
    }
    gp_rangetab_free(&t);
    return 0;
}
