/* perfmap.c — perf-PID.map parsing (see perfmap.h). */
#include "agent/symbols/perfmap.h"
#include "agent/symbols/demangle.h"
#include "agent/procs/maps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gp_perfmap_parse(const char *text, size_t len, struct gp_rangetab *t, struct gp_err *err)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break; /* a partial last line is still being written */
        char *q, *r;
        uint64_t start = strtoull(p, &q, 16);
        if (q > p && *q == ' ') {
            uint64_t size = strtoull(q + 1, &r, 16);
            if (r > q + 1 && *r == ' ' && r + 1 < nl && size > 0) {
                const char *name = r + 1;
                size_t nlen = (size_t)(nl - name);
                while (nlen && name[nlen - 1] == '\r')
                    nlen--;
                char tmp[512];
                char *dm = NULL;
                if (nlen < sizeof(tmp)) {
                    memcpy(tmp, name, nlen);
                    tmp[nlen] = '\0';
                    dm = gp_demangle(tmp);
                }
                int rc = dm ? gp_rangetab_add(t, start, size, dm, strlen(dm), NULL)
                            : gp_rangetab_add(t, start, size, name, nlen, NULL);
                free(dm);
                if (rc < 0) {
                    gp_rangetab_free(t);
                    return gp_err_set(err, -ENOMEM, "out of memory reading perf map");
                }
            }
        }
        p = nl + 1;
    }
    gp_rangetab_finish(t, 0);
    return 0;
}

int gp_perfmap_load(const char *root, uint32_t nspid, struct gp_rangetab *t, struct gp_err *err)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/tmp/perf-%" PRIu32 ".map", root ? root : "", nspid);
    char *buf;
    size_t len;
    int rc = gp_read_file(path, &buf, &len);
    if (rc < 0)
        return gp_err_set(err, rc, "cannot read %s: %s", path, strerror(-rc));
    rc = gp_perfmap_parse(buf, len, t, err);
    free(buf);
    return rc;
}
