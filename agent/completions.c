/* completions.c — the persisted queue of command completions not yet acknowledged. */
#include "agent/completions.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct gp_completions {
    pthread_mutex_t mu;
    struct gp_completion items[GP_COMPLETIONS_MAX];
    size_t n;
    char dir[4096], path[4200];
    int persist;
};

static json_object *to_json(const struct gp_completion *c)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "command_id", json_object_new_string(c->id));
    json_object_object_add(o, "status", json_object_new_string(c->ok ? "completed" : "failed"));
    json_object_object_add(o, "execution_time", json_object_new_double(c->exec));
    json_object_object_add(o, "error_message", json_object_new_string(c->error));
    json_object_object_add(o, "results_path", json_object_new_string(c->path));
    return o;
}

static const char *str_of(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int gp_completion_parse(const char *line, struct gp_completion *c)
{
    json_object *o = json_tokener_parse(line);
    int rc = -EINVAL;
    const char *id = o ? str_of(o, "command_id") : NULL;
    const char *st = o ? str_of(o, "status") : NULL;
    json_object *v;
    if (!id || !*id || strlen(id) >= sizeof(c->id) || !st ||
        (strcmp(st, "completed") && strcmp(st, "failed")))
        goto out;
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->ok = !strcmp(st, "completed");
    c->exec = json_object_object_get_ex(o, "execution_time", &v) ? json_object_get_double(v) : -1;
    const char *e = str_of(o, "error_message"), *p = str_of(o, "results_path");
    snprintf(c->error, sizeof(c->error), "%s", e ? e : "");
    snprintf(c->path, sizeof(c->path), "%s", p ? p : "");
    rc = 0;
out:
    json_object_put(o);
    return rc;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) ? -errno : 0;
    close(fd);
    return rc;
}

/* Rewrites the file atomically (temp file, fsync, rename); an empty queue removes it. Locked. */
static int save(struct gp_completions *q, struct gp_err *err)
{
    if (!q->persist)
        return 0;
    if (!q->n) {
        if (unlink(q->path) && errno != ENOENT)
            return gp_err_set(err, -errno, "cannot remove %s: %s", q->path, strerror(errno));
        sync_dir(q->dir);
        return 0;
    }
    struct strbuf sb = STRBUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < q->n && !rc; i++) {
        json_object *o = to_json(&q->items[i]);
        const char *js = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
        if (!js || sb_printf(&sb, "%s\n", js))
            rc = -ENOMEM;
        json_object_put(o);
    }
    if (!rc)
        rc = gp_atomic_write(q->path, sb.buf, sb.len, 0600);
    sb_free(&sb);
    if (rc)
        return gp_err_set(err, rc,
                          "cannot save %s: %s (pending completions are lost if the "
                          "agent restarts)",
                          q->path, strerror(-rc));
    sync_dir(q->dir);
    return 0;
}

static size_t find(const struct gp_completions *q, const char *id)
{
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->items[i].id, id))
            return i;
    return q->n;
}

static void remove_at(struct gp_completions *q, size_t i)
{
    memmove(&q->items[i], &q->items[i + 1], (q->n - i - 1) * sizeof(q->items[0]));
    q->n--;
}

/* Appends (replacing an earlier one of the same id, dropping the oldest when full). Locked. */
static void add(struct gp_completions *q, const struct gp_completion *c)
{
    size_t i = find(q, c->id);
    if (i < q->n)
        remove_at(q, i);
    if (q->n == GP_COMPLETIONS_MAX) {
        gp_warn("%d completions wait for the coordinator: dropping the report of %s",
                GP_COMPLETIONS_MAX, q->items[0].id);
        remove_at(q, 0);
    }
    q->items[q->n++] = *c;
}

static int load(struct gp_completions *q, struct gp_err *err)
{
    FILE *f = fopen(q->path, "re");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        return gp_err_set(err, -errno, "cannot read %s: %s", q->path, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        struct gp_completion c;
        if (gp_completion_parse(line, &c))
            gp_warn("%s line %u is not a completion; skipped", q->path, lineno);
        else
            add(q, &c);
    }
    int rc = ferror(f) ? gp_err_set(err, -EIO, "cannot read %s", q->path) : 0;
    free(line);
    fclose(f);
    return rc;
}

int gp_completions_open(const char *state_dir, struct gp_completions **out, struct gp_err *err)
{
    struct gp_completions *q = calloc(1, sizeof(*q));
    if (!q)
        return gp_err_set(err, -ENOMEM, "out of memory");
    pthread_mutex_init(&q->mu, NULL);
    if (state_dir) {
        q->persist = 1;
        snprintf(q->dir, sizeof(q->dir), "%s", state_dir);
        snprintf(q->path, sizeof(q->path), "%s/%s", state_dir, GP_COMPLETIONS_FILE);
        int rc = load(q, err);
        if (rc) {
            gp_completions_close(q);
            return rc;
        }
    }
    *out = q;
    return 0;
}

void gp_completions_close(struct gp_completions *q)
{
    if (!q)
        return;
    pthread_mutex_destroy(&q->mu);
    free(q);
}

int gp_completions_push(struct gp_completions *q, const struct gp_completion *c, struct gp_err *err)
{
    if (!c->id[0])
        return gp_err_set(err, -EINVAL, "a completion needs a command id");
    pthread_mutex_lock(&q->mu);
    add(q, c);
    int rc = save(q, err);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

bool gp_completions_peek(struct gp_completions *q, struct gp_completion *out)
{
    pthread_mutex_lock(&q->mu);
    bool r = q->n > 0;
    if (r)
        *out = q->items[0];
    pthread_mutex_unlock(&q->mu);
    return r;
}

int gp_completions_ack(struct gp_completions *q, const char *id, struct gp_err *err)
{
    pthread_mutex_lock(&q->mu);
    size_t i = find(q, id);
    int rc = 0;
    if (i < q->n) {
        remove_at(q, i);
        rc = save(q, err);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

size_t gp_completions_count(struct gp_completions *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->n;
    pthread_mutex_unlock(&q->mu);
    return n;
}

bool gp_completions_has(struct gp_completions *q, const char *id)
{
    pthread_mutex_lock(&q->mu);
    bool r = find(q, id) < q->n;
    pthread_mutex_unlock(&q->mu);
    return r;
}
