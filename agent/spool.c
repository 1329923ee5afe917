/* spool.c — durable upload spool: one file per item, named by a growing sequence number. */
#include "agent/spool.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct entry {
    uint64_t seq, size;
    char upload_id[65];
};

struct gp_spool {
    pthread_mutex_t mu;
    char dir[4096];
    uint64_t max_bytes, bytes, dropped, next_seq;
    struct entry *e; /* sorted by seq */
    size_t n, cap;
};

static void item_path(const struct gp_spool *s, uint64_t seq, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%016" PRIx64 ".item", s->dir, seq);
}

static int mkdir_p(const char *path, mode_t mode)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int by_seq(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int push_entry(struct gp_spool *s, const struct entry *e)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        struct entry *ne = realloc(s->e, nc * sizeof(*ne));
        if (!ne)
            return -ENOMEM;
        s->e = ne;
        s->cap = nc;
    }
    s->e[s->n++] = *e;
    s->bytes += e->size;
    return 0;
}

int gp_spool_meta_parse(const char *text, size_t len, struct gp_spool_meta *m)
{
    char line[1024];
    const char *nl = memchr(text, '\n', len < sizeof(line) - 1 ? len : sizeof(line) - 1);
    if (!nl)
        return -EINVAL;
    memcpy(line, text, (size_t)(nl - text));
    line[nl - text] = '\0';
    json_object *j = json_tokener_parse(line);
    if (!j || !json_object_is_type(j, json_type_object)) {
        json_object_put(j);
        return -EINVAL;
    }
    memset(m, 0, sizeof(*m));
    json_object *v;
    const char *uid =
            json_object_object_get_ex(j, "upload_id", &v) ? json_object_get_string(v) : NULL;
    const char *kind = json_object_object_get_ex(j, "kind", &v) ? json_object_get_string(v) : NULL;
    if (!uid || !*uid || strlen(uid) >= sizeof(m->upload_id)) {
        json_object_put(j);
        return -EINVAL;
    }
    snprintf(m->upload_id, sizeof(m->upload_id), "%s", uid);
    snprintf(m->kind, sizeof(m->kind), "%s", kind ? kind : "continuous");
    m->start = json_object_object_get_ex(j, "start", &v) ? (time_t)json_object_get_int64(v) : 0;
    m->end = json_object_object_get_ex(j, "end", &v) ? (time_t)json_object_get_int64(v) : 0;
    m->spawn = json_object_object_get_ex(j, "spawn", &v) ? (time_t)json_object_get_int64(v) : 0;
    m->cpu_avg = json_object_object_get_ex(j, "cpu_avg", &v) && v ? json_object_get_double(v) : -1;
    m->mem_avg = json_object_object_get_ex(j, "mem_avg", &v) && v ? json_object_get_double(v) : -1;
    json_object_put(j);
    return 0;
}

/* Reads the first line (meta JSON) of an item file into m. */
static int read_meta_line(FILE *f, struct gp_spool_meta *m)
{
    char line[1024];
    if (!fgets(line, sizeof(line), f) || !strchr(line, '\n'))
        return -EINVAL;
    return gp_spool_meta_parse(line, strlen(line), m);
}

static int scan(struct gp_spool *s, struct gp_err *err)
{
    DIR *d = opendir(s->dir);
    if (!d)
        return gp_err_set(err, -errno, "cannot read %s: %s", s->dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        const char *nm = de->d_name;
        size_t l = strlen(nm);
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s", s->dir, nm);
        if (l > 4 && !strcmp(nm + l - 4, ".tmp")) { /* an interrupted write: never complete */
            unlink(path);
            continue;
        }
        if (l != 21 || strcmp(nm + 16, ".item"))
            continue;
        char *end;
        uint64_t seq = strtoull(nm, &end, 16);
        if (end != nm + 16)
            continue;
        struct stat st;
        FILE *f = fopen(path, "re");
        struct entry e = {.seq = seq};
        struct gp_spool_meta m;
        if (!f || fstat(fileno(f), &st) != 0 || read_meta_line(f, &m) != 0) {
            if (f)
                fclose(f);
            gp_warn("spool: removing unreadable item %s", path);
            unlink(path);
            continue;
        }
        fclose(f);
        e.size = (uint64_t)st.st_size;
        snprintf(e.upload_id, sizeof(e.upload_id), "%s", m.upload_id);
        if ((rc = push_entry(s, &e))) {
            rc = gp_err_set(err, rc, "out of memory");
            break;
        }
        if (seq >= s->next_seq)
            s->next_seq = seq + 1;
    }
    closedir(d);
    if (s->n)
        qsort(s->e, s->n, sizeof(*s->e), by_seq);
    return rc;
}

int gp_spool_open(const char *dir, uint64_t max_bytes, struct gp_spool **out, struct gp_err *err)
{
    struct gp_spool *s = calloc(1, sizeof(*s));
    if (!s)
        return gp_err_set(err, -ENOMEM, "out of memory");
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    s->max_bytes = max_bytes ? max_bytes : GP_SPOOL_DEFAULT_MAX;
    s->next_seq = 1;
    int rc = mkdir_p(dir, 0700);
    if (rc) {
        free(s);
        return gp_err_set(err, rc, "cannot create the spool directory %s: %s", dir, strerror(-rc));
    }
    if ((rc = scan(s, err))) {
        free(s->e);
        free(s);
        return rc;
    }
    pthread_mutex_init(&s->mu, NULL);
    if (s->n)
        gp_info("spool %s: %zu uploads waiting from an earlier run (%" PRIu64 " bytes)", dir, s->n,
                s->bytes);
    *out = s;
    return 0;
}

void gp_spool_close(struct gp_spool *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s->e);
    free(s);
}

static void drop_at(struct gp_spool *s, size_t i)
{
    char path[4200];
    item_path(s, s->e[i].seq, path, sizeof(path));
    unlink(path);
    s->bytes -= s->e[i].size;
    memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof(*s->e));
    s->n--;
}

int gp_spool_put(struct gp_spool *s, const struct gp_spool_meta *m, const char *data, size_t len,
                 size_t *dropped, struct gp_err *err)
{
    if (dropped)
        *dropped = 0;
    json_object *j = json_object_new_object();
    if (!j)
        return gp_err_set(err, -ENOMEM, "out of memory");
    json_object_object_add(j, "upload_id", json_object_new_string(m->upload_id));
    json_object_object_add(j, "kind", json_object_new_string(m->kind[0] ? m->kind : "continuous"));
    json_object_object_add(j, "start", json_object_new_int64((int64_t)m->start));
    json_object_object_add(j, "end", json_object_new_int64((int64_t)m->end));
    json_object_object_add(j, "spawn", json_object_new_int64((int64_t)m->spawn));
    json_object_object_add(j, "cpu_avg",
                           m->cpu_avg < 0 ? NULL : json_object_new_double(m->cpu_avg));
    json_object_object_add(j, "mem_avg",
                           m->mem_avg < 0 ? NULL : json_object_new_double(m->mem_avg));
    size_t ml;
    const char *mt = json_object_to_json_string_length(j, JSON_C_TO_STRING_PLAIN, &ml);
    uint64_t size = ml + 1 + len;
    if (size > s->max_bytes) {
        json_object_put(j);
        return gp_err_set(err, -E2BIG,
                          "a profile of %zu bytes is larger than the whole spool (%" PRIu64
                          " bytes); raise spool_max",
                          len, s->max_bytes);
    }
    pthread_mutex_lock(&s->mu);
    uint64_t seq = s->next_seq++;
    pthread_mutex_unlock(&s->mu);
    char path[4200];
    item_path(s, seq, path, sizeof(path));
    struct gp_atomic_file af;
    int rc = gp_atomic_open(&af, path, 0600);
    if (rc) {
        json_object_put(j);
        return gp_err_set(err, rc, "cannot write %s: %s", path, strerror(-rc));
    }
    if ((rc = gp_write_all(af.fd, mt, ml)) || (rc = gp_write_all(af.fd, "\n", 1)) ||
        (rc = gp_write_all(af.fd, data, len))) {
        gp_atomic_abort(&af);
        json_object_put(j);
        return gp_err_set(err, rc, "writing %s: %s", path, strerror(-rc));
    }
    json_object_put(j);
    if ((rc = gp_atomic_commit(&af)))
        return gp_err_set(err, rc, "saving %s: %s", path, strerror(-rc));
    int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { /* the rename itself survives a power cut */
        fsync(dfd);
        close(dfd);
    }
    struct entry e = {.seq = seq, .size = size};
    snprintf(e.upload_id, sizeof(e.upload_id), "%s", m->upload_id);
    pthread_mutex_lock(&s->mu);
    size_t nd = 0;
    while (s->n && s->bytes + size > s->max_bytes) {
        drop_at(s, 0);
        nd++;
    }
    if (push_entry(s, &e)) {
        pthread_mutex_unlock(&s->mu);
        unlink(path);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    /* keep the index sorted even if an older seq was written last */
    for (size_t i = s->n - 1; i > 0 && s->e[i - 1].seq > s->e[i].seq; i--) {
        struct entry t = s->e[i];
        s->e[i] = s->e[i - 1];
        s->e[i - 1] = t;
    }
    s->dropped += nd;
    uint64_t total = s->dropped;
    pthread_mutex_unlock(&s->mu);
    if (nd)
        gp_warn("spool full (%" PRIu64 " bytes): dropped the %zu oldest unsent profile%s (%" PRIu64
                " dropped since start)",
                s->max_bytes, nd, nd == 1 ? "" : "s", total);
    if (dropped)
        *dropped = nd;
    return 0;
}

void gp_spool_item_free(struct gp_spool_item *it)
{
    free(it->data);
    it->data = NULL;
}

int gp_spool_oldest(struct gp_spool *s, struct gp_spool_item *it, struct gp_err *err)
{
    memset(it, 0, sizeof(*it));
    for (;;) {
        pthread_mutex_lock(&s->mu);
        if (!s->n) {
            pthread_mutex_unlock(&s->mu);
            return -ENOENT;
        }
        uint64_t seq = s->e[0].seq;
        pthread_mutex_unlock(&s->mu);
        char path[4200];
        item_path(s, seq, path, sizeof(path));
        FILE *f = fopen(path, "re");
        struct stat st;
        int ok = f && fstat(fileno(f), &st) == 0 && read_meta_line(f, &it->meta) == 0;
        if (ok) {
            long off = ftell(f);
            size_t len = (size_t)st.st_size - (size_t)off;
            it->data = malloc(len + 1);
            if (!it->data) {
                fclose(f);
                return gp_err_set(err, -ENOMEM, "out of memory");
            }
            ok = fread(it->data, 1, len, f) == len;
            it->data[len] = '\0';
            it->len = len;
        }
        if (f)
            fclose(f);
        if (ok) {
            it->seq = seq;
            return 0;
        }
        gp_warn("spool: dropping unreadable item %s", path);
        gp_spool_item_free(it);
        gp_spool_remove(s, seq);
    }
}

int gp_spool_remove(struct gp_spool *s, uint64_t seq)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        if (s->e[i].seq == seq) {
            drop_at(s, i);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int gp_spool_contains(struct gp_spool *s, const char *upload_id)
{
    int r = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n && !r; i++)
        r = !strcmp(s->e[i].upload_id, upload_id);
    pthread_mutex_unlock(&s->mu);
    return r;
}

void gp_spool_stats(struct gp_spool *s, struct gp_spool_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = (struct gp_spool_stats){
            .items = s->n, .bytes = s->bytes, .max_bytes = s->max_bytes, .dropped = s->dropped};
    pthread_mutex_unlock(&s->mu);
}
