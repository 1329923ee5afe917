/* procinfo.c — process facts from /proc (see procinfo.h). */
#include "agent/procs/procinfo.h"
#include "agent/procs/maps.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int gp_proc_exe(uint32_t tgid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%" PRIu32 "/exe", tgid);
    if (len == 0)
        return -EINVAL;
    ssize_t r = readlink(path, buf, len - 1);
    if (r < 0)
        return errno == ENOENT ? -ESRCH : -errno;
    buf[r] = '\0';
    return 0;
}

/* Our own mount and pid namespaces, looked up once per process. */
static struct {
    const char *ns;
    struct stat st;
    int err; /* -errno of the lookup, or 0 */
} self_ns[2] = {{.ns = "mnt"}, {.ns = "pid"}};
static pthread_once_t self_ns_once = PTHREAD_ONCE_INIT;

static void read_self_ns(void)
{
    for (size_t i = 0; i < 2; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/ns/%s", self_ns[i].ns);
        self_ns[i].err = stat(path, &self_ns[i].st) < 0 ? -errno : 0;
    }
}

/* 1 when /proc/PID/ns/<ns> is not ours, 0 when it is, or -errno (-ESRCH: no such process). */
static int other_ns(uint32_t tgid, size_t which)
{
    pthread_once(&self_ns_once, read_self_ns);
    if (self_ns[which].err)
        return self_ns[which].err;
    char path[64];
    struct stat a;
    snprintf(path, sizeof(path), "/proc/%" PRIu32 "/ns/%s", tgid, self_ns[which].ns);
    if (stat(path, &a) < 0)
        return errno == ENOENT ? -ESRCH : -errno;
    return a.st_ino != self_ns[which].st.st_ino || a.st_dev != self_ns[which].st.st_dev;
}

void gp_proc_status_nspid(const char *status, uint32_t *nspid)
{
    const char *line = strstr(status, "\nNSpid:");
    if (!line)
        return;
    const char *p = line + 7, *last = NULL;
    while (*p && *p != '\n') {
        while (*p != '\n' && isspace((unsigned char)*p)) /* a '\r' alone looped forever */
            p++;
        if (isdigit((unsigned char)*p))
            last = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
    }
    if (last)
        *nspid = (uint32_t)strtoul(last, NULL, 10);
}

int gp_proc_stat_parse(const char *stat, uint64_t *starttime, uint32_t *ppid, char comm[16])
{
    const char *p = strrchr(stat, ')'), *open = strchr(stat, '(');
    if (!p || !open || open >= p)
        return -EINVAL;
    if (comm)
        snprintf(comm, 16, "%.*s", (int)(p - open - 1), open + 1);
    /* fields after comm start at 3 (state); starttime is field 22 */
    int field = 2;
    for (p++; *p; p++) {
        if (*p == ' ' && ++field == 4 && ppid)
            *ppid = (uint32_t)strtoul(p + 1, NULL, 10);
        if (*p == ' ' && field == 22) {
            *starttime = strtoull(p + 1, NULL, 10);
            return 0;
        }
    }
    return -EINVAL;
}

int gp_proc_nspid(uint32_t tgid, uint32_t *nspid)
{
    int other = other_ns(tgid, 1);
    if (other < 0 && other != -ESRCH)
        other = 1; /* cannot tell: read status */
    if (other == -ESRCH)
        return -ESRCH;
    *nspid = tgid;
    if (!other) /* our pid namespace: the pid is the same inside */
        return 0;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%" PRIu32 "/status", tgid);
    char *b;
    int rc = gp_read_file(path, &b, NULL);
    if (rc < 0)
        return rc == -ENOENT ? -ESRCH : rc;
    gp_proc_status_nspid(b, nspid);
    free(b);
    return 0;
}

int gp_proc_other_mntns(uint32_t tgid)
{
    return other_ns(tgid, 0);
}

static int is_hex64(const char *s, size_t n)
{
    if (n != 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Matches one path segment; returns the runtime name or NULL and sets *idp. */
static const char *match_segment(const char *seg, size_t n, const char *whole, const char **idp)
{
    static const struct {
        const char *prefix, *runtime;
    } forms[] = {
            {"docker-", "docker"},
            {"cri-containerd-", "containerd"},
            {"crio-", "cri-o"},
            {"libpod-", "podman"},
    };
    if (is_hex64(seg, n)) {
        *idp = seg;
        if (strstr(whole, "/docker/") || strstr(whole, "docker"))
            return "docker";
        if (strstr(whole, "crio"))
            return "cri-o";
        if (strstr(whole, "libpod"))
            return "podman";
        return "containerd";
    }
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        size_t pl = strlen(forms[i].prefix);
        if (n < pl + 64 || strncmp(seg, forms[i].prefix, pl) != 0)
            continue;
        const char *id = seg + pl;
        size_t rest = n - pl;
        if (rest == 64 || (rest == 70 && memcmp(id + 64, ".scope", 6) == 0)) {
            if (is_hex64(id, 64)) {
                *idp = id;
                return forms[i].runtime;
            }
        }
    }
    return NULL;
}

static int scan_path(const char *path, size_t plen, char *id, size_t idlen, char *runtime,
                     size_t rtlen)
{
    char whole[4096];
    snprintf(whole, sizeof(whole), "%.*s", (int)(plen < sizeof(whole) ? plen : sizeof(whole) - 1),
             path);
    const char *found = NULL, *rt = NULL;
    const char *p = path, *end = path + plen;
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);
        const char *sid;
        const char *r = n ? match_segment(p, n, whole, &sid) : NULL;
        if (r) {
            found = sid;
            rt = r;
        }
        p += n + 1;
    }
    if (!found)
        return 0;
    if (idlen)
        snprintf(id, idlen, "%.64s", found);
    if (rtlen)
        snprintf(runtime, rtlen, "%s", rt);
    return 1;
}

int gp_cgroup_container_id(const char *text, char *id, size_t idlen, char *runtime, size_t rtlen)
{
    if (idlen)
        id[0] = '\0';
    if (rtlen)
        runtime[0] = '\0';
    /* Prefer the unified (v2) hierarchy "0::/path", then any v1 line. */
    for (int pass = 0; pass < 2; pass++) {
        const char *p = text;
        while (p && *p) {
            const char *nl = strchr(p, '\n');
            size_t ll = nl ? (size_t)(nl - p) : strlen(p);
            const char *c1 = memchr(p, ':', ll);
            const char *c2 = c1 ? memchr(c1 + 1, ':', ll - (size_t)(c1 + 1 - p)) : NULL;
            if (c2) {
                int v2 = (c1 - p == 1 && p[0] == '0' && c2 == c1 + 1);
                if ((pass == 0) == v2 &&
                    scan_path(c2 + 1, ll - (size_t)(c2 + 1 - p), id, idlen, runtime, rtlen))
                    return 1;
            }
            p = nl ? nl + 1 : NULL;
        }
    }
    return 0;
}

/* The string member key of o, or NULL when o is not an object or the member is not a string
 * (json_object_get_string would give NULL for null, or the JSON text of anything else). */
static const char *str_member(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int gp_container_name_from_json(json_object *root, const char *id, char *name, size_t namelen)
{
    const char *s;
    json_object *ann;
    if (json_object_is_type(root, json_type_array)) {
        /* podman containers.json: [{"id":..., "names":[...]}] */
        size_t n = json_object_array_length(root);
        for (size_t i = 0; i < n; i++) {
            json_object *c = json_object_array_get_idx(root, i), *names, *first;
            const char *cid = str_member(c, "id");
            if (cid && strcmp(cid, id) == 0 && json_object_object_get_ex(c, "names", &names) &&
                json_object_is_type(names, json_type_array) &&
                json_object_array_length(names) > 0 &&
                (first = json_object_array_get_idx(names, 0)) &&
                json_object_is_type(first, json_type_string)) {
                snprintf(name, namelen, "%s", json_object_get_string(first));
                return 1;
            }
        }
    } else if (json_object_object_get_ex(root, "Name", NULL)) {
        if (!(s = str_member(root, "Name")))
            return 0;
        snprintf(name, namelen, "%s", s[0] == '/' ? s + 1 : s);
        return s[0] != '\0';
    } else if (json_object_object_get_ex(root, "annotations", &ann)) {
        if ((s = str_member(ann, "io.kubernetes.cri.container-name")) ||
            (s = str_member(ann, "io.kubernetes.container.name"))) {
            snprintf(name, namelen, "%s", s);
            return 1;
        }
    }
    return 0;
}

static int json_name(const char *path, const char *id, char *name, size_t namelen)
{
    json_object *root = json_object_from_file(path);
    if (!root)
        return 0;
    int ok = gp_container_name_from_json(root, id, name, namelen);
    json_object_put(root);
    return ok;
}

int gp_container_name_lookup(const char *root, const char *runtime, const char *id, char *name,
                             size_t namelen)
{
    char path[4096];
    const char *sep = root[0] && root[strlen(root) - 1] == '/' ? "" : "/";
    int ok = 0;
    if (strcmp(runtime, "docker") == 0) {
        snprintf(path, sizeof(path), "%s%svar/lib/docker/containers/%s/config.v2.json", root, sep,
                 id);
        ok = json_name(path, id, name, namelen);
    } else if (strcmp(runtime, "containerd") == 0) {
        snprintf(path, sizeof(path),
                 "%s%srun/containerd/io.containerd.runtime.v2.task/k8s.io/%s/config.json", root,
                 sep, id);
        ok = json_name(path, id, name, namelen);
    } else if (strcmp(runtime, "cri-o") == 0) {
        snprintf(path, sizeof(path),
                 "%s%srun/containers/storage/overlay-containers/%s/userdata/config.json", root, sep,
                 id);
        ok = json_name(path, id, name, namelen);
    } else if (strcmp(runtime, "podman") == 0) {
        snprintf(path, sizeof(path),
                 "%s%svar/lib/containers/storage/overlay-containers/containers.json", root, sep);
        ok = json_name(path, id, name, namelen);
    }
    if (!ok && namelen)
        snprintf(name, namelen, "%.12s", id);
    return ok;
}

int gp_proc_container(uint32_t tgid, char *id, size_t idlen, char *name, size_t namelen)
{
    return gp_proc_container_at(tgid, "/", id, idlen, name, namelen);
}

int gp_proc_container_id(uint32_t tgid, char *id, size_t idlen, char *runtime, size_t rtlen)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%" PRIu32 "/cgroup", tgid);
    char *b;
    int rc = gp_read_file(path, &b, NULL);
    if (rc < 0)
        return rc == -ENOENT ? -ESRCH : rc;
    gp_cgroup_container_id(b, id, idlen, runtime, rtlen);
    free(b);
    return 0;
}

int gp_proc_container_at(uint32_t tgid, const char *state_root, char *id, size_t idlen, char *name,
                         size_t namelen)
{
    char path[64], rt[32];
    if (idlen)
        id[0] = '\0';
    if (namelen)
        name[0] = '\0';
    snprintf(path, sizeof(path), "/proc/%" PRIu32 "/cgroup", tgid);
    char *b;
    int rc = gp_read_file(path, &b, NULL);
    if (rc < 0)
        return rc == -ENOENT ? -ESRCH : rc;
    char cid[65];
    int found = gp_cgroup_container_id(b, cid, sizeof(cid), rt, sizeof(rt));
    free(b);
    if (!found)
        return 0;
    if (idlen)
        snprintf(id, idlen, "%s", cid);
    if (namelen)
        gp_container_name_lookup(state_root, rt, cid, name, namelen);
    return 0;
}
