/* kallsyms.c — /proc/kallsyms parsing (see kallsyms.h). */
#include "agent/symbols/kallsyms.h"
#include "agent/procs/maps.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int gp_kallsyms_parse(const char *text, size_t len, struct gp_rangetab *t, struct gp_err *err)
{
    const char *p = text, *end = text + len;
    size_t nonzero = 0, total = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        char *q;
        unsigned long long addr = strtoull(p, &q, 16);
        if (q < le && *q == ' ' && q + 3 < le && q[2] == ' ') {
            char type = q[1];
            const char *name = q + 3, *ne = name;
            while (ne < le && *ne != '\t' && *ne != ' ')
                ne++;
            total++;
            if (addr)
                nonzero++;
            if (addr && (type == 't' || type == 'T' || type == 'w' || type == 'W') && ne > name) {
                if (gp_rangetab_add(t, addr, 0, name, (size_t)(ne - name), "_[k]") < 0) {
                    gp_rangetab_free(t);
                    return gp_err_set(err, -ENOMEM, "out of memory reading kallsyms");
                }
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (total && !nonzero) {
        gp_rangetab_free(t);
        return gp_err_set(err, -EPERM,
                          "kernel symbol addresses are hidden (kernel.kptr_restrict); run as root "
                          "or set sysctl kernel.kptr_restrict=0");
    }
    /* The last symbol of the kernel or a module has no end in kallsyms: allow one page. */
    gp_rangetab_finish(t, 4096);
    return 0;
}

int gp_kallsyms_load(const char *path, struct gp_rangetab *t, struct gp_err *err)
{
    char *buf;
    size_t len;
    int rc = gp_read_file(path, &buf, &len);
    if (rc < 0)
        return gp_err_set(err, rc, "cannot read %s: %s", path, strerror(-rc));
    rc = gp_kallsyms_parse(buf, len, t, err);
    free(buf);
    return rc;
}
