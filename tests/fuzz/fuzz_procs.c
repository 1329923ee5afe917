/* fuzz_procs.c — the /proc texts the root agent parses for every sampled process: maps, stat,
 * status (NSpid), cgroup (container id) and the container runtimes' state JSON (its name).
 * Processes are the users', so any bytes must parse or be refused without crash, leak or UB.
 * The first byte picks the input kind. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/procs/maps.h"
#include "agent/procs/procinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void maps(const char *text, size_t len, int exec_only)
{
    struct gp_maps m = {0};
    struct gp_err err = {0};
    if (gp_maps_parse(text, len, exec_only, &m, &err) != 0) {
        if (err.msg[0] == '\0')
            abort();
        return;
    }
    for (size_t i = 0; i < m.n; i++) {
        if (!m.v[i].path || (exec_only && m.v[i].perms[2] != 'x'))
            abort();
        (void)gp_map_module_name(&m.v[i]);
        if (gp_maps_find(&m, m.v[i].start) == NULL && m.v[i].start < m.v[i].end)
            abort();
    }
    (void)gp_maps_find(&m, 0);
    (void)gp_maps_find(&m, UINT64_MAX);
    gp_maps_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if ((data[0] & 7) < 2) { /* the maps parser takes a length: no terminator at all */
        char *exact = malloc(len ? len : 1);
        if (!exact)
            return 0;
        memcpy(exact, text, len);
        maps(exact, len, data[0] & 1);
        free(exact);
        return 0;
    }
    char *s = malloc(len + 1); /* the others read NUL-terminated files */
    if (!s)
        return 0;
    memcpy(s, text, len);
    s[len] = '\0';
    switch (data[0] & 7) {
    case 2: {
        uint64_t start = 0;
        uint32_t ppid = 0;
        char comm[16];
        if (gp_proc_stat_parse(s, &start, &ppid, comm) == 0 && !memchr(comm, '\0', sizeof(comm)))
            abort();
        (void)gp_proc_stat_parse(s, &start, NULL, NULL);
        break;
    }
    case 3: {
        uint32_t nspid = 7;
        gp_proc_status_nspid(s, &nspid);
        break;
    }
    case 4:
    case 5: {
        char id[65], rt[16];
        if (gp_cgroup_container_id(s, id, sizeof(id), rt, sizeof(rt)) == 1 && strlen(id) != 64)
            abort();
        char small_id[8], small_rt[4];
        (void)gp_cgroup_container_id(s, small_id, sizeof(small_id), small_rt, sizeof(small_rt));
        break;
    }
    default: { /* docker/containerd/cri-o config or podman containers.json */
        json_object *o = json_tokener_parse(s);
        if (o) {
            char name[64];
            static const char id[] = "0123456789abcdef0123456789abcdef"
                                     "0123456789abcdef0123456789abcdef";
            if (gp_container_name_from_json(o, id, name, sizeof(name)) &&
                !memchr(name, '\0', sizeof(name)))
                abort();
            json_object_put(o);
        }
        break;
    }
    }
    free(s);
    return 0;
}
