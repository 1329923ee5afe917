/* manager.c — CommandManager queues and the persisted executed-ids history. */
#include "agent/commands/manager.h"
#include "common/fsutil.h"
#include "common/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A ring of ids, newest last, with linear lookup (1,000 short strings). */
struct idring {
    char (*ids)[GP_CMD_ID_MAX];
    size_t head, n, cap;
};

struct queue {
    struct gp_command *items;
    size_t n;
};

struct gp_cmdmgr {
    pthread_mutex_t mu;
    struct queue q[GP_CLASS_COUNT];
    struct idring received, executed;
    char path[4096];
    int persist;
};

static int ring_init(struct idring *r, size_t cap)
{
    r->ids = calloc(cap, sizeof(*r->ids));
    r->cap = cap;
    r->head = r->n = 0;
    return r->ids ? 0 : -ENOMEM;
}

static const char *ring_at(const struct idring *r, size_t i) /* 0 = oldest */
{
    return r->ids[(r->head + i) % r->cap];
}

static bool ring_has(const struct idring *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(ring_at(r, i), id))
            return true;
    return false;
}

static void ring_push(struct idring *r, const char *id)
{
    if (ring_has(r, id))
        return;
    size_t slot;
    if (r->n < r->cap) {
        slot = (r->head + r->n) % r->cap;
        r->n++;
    } else {
        slot = r->head;
        r->head = (r->head + 1) % r->cap;
    }
    snprintf(r->ids[slot], GP_CMD_ID_MAX, "%s", id);
}

static int load_history(struct gp_cmdmgr *m, struct gp_err *err)
{
    FILE *f = fopen(m->path, "re");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        return gp_err_set(err, -errno, "cannot read %s: %s", m->path, strerror(errno));
    }
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || strlen(line) >= GP_CMD_ID_MAX)
            continue;
        ring_push(&m->executed, line);
        ring_push(&m->received, line);
    }
    fclose(f);
    return 0;
}

static int save_history(struct gp_cmdmgr *m, struct gp_err *err)
{
    if (!m->persist)
        return 0;
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < m->executed.n; i++)
        sb_printf(&sb, "%s\n", ring_at(&m->executed, i));
    int rc = sb.oom ? -ENOMEM : gp_atomic_write(m->path, sb.buf ? sb.buf : "", sb.len, 0600);
    sb_free(&sb);
    if (rc)
        return gp_err_set(err, rc, "cannot save %s: %s", m->path, strerror(-rc));
    return 0;
}

int gp_cmdmgr_open(const char *state_dir, struct gp_cmdmgr **out, struct gp_err *err)
{
    struct gp_cmdmgr *m = calloc(1, sizeof(*m));
    if (!m || ring_init(&m->received, GP_CMDMGR_HISTORY) ||
        ring_init(&m->executed, GP_CMDMGR_HISTORY)) {
        gp_cmdmgr_close(m);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    pthread_mutex_init(&m->mu, NULL);
    if (state_dir) {
        m->persist = 1;
        snprintf(m->path, sizeof(m->path), "%s/executed_commands", state_dir);
        int rc = load_history(m, err);
        if (rc) {
            gp_cmdmgr_close(m);
            return rc;
        }
    }
    *out = m;
    return 0;
}

void gp_cmdmgr_close(struct gp_cmdmgr *m)
{
    if (!m)
        return;
    for (int i = 0; i < GP_CLASS_COUNT; i++)
        free(m->q[i].items);
    free(m->received.ids);
    free(m->executed.ids);
    if (m->received.cap)
        pthread_mutex_destroy(&m->mu);
    free(m);
}

int gp_cmdmgr_offer(struct gp_cmdmgr *m, const struct gp_command *c)
{
    pthread_mutex_lock(&m->mu);
    if (ring_has(&m->received, c->id) || ring_has(&m->executed, c->id)) {
        pthread_mutex_unlock(&m->mu);
        return 0;
    }
    struct queue *q = &m->q[gp_command_class(c)];
    if (!q->items) {
        q->items = calloc(GP_CMDMGR_QUEUE_MAX, sizeof(*q->items));
        if (!q->items) {
            pthread_mutex_unlock(&m->mu);
            return -ENOMEM;
        }
    }
    if (q->n == GP_CMDMGR_QUEUE_MAX) {
        memmove(&q->items[0], &q->items[1], (q->n - 1) * sizeof(*q->items));
        q->n--;
    }
    q->items[q->n++] = *c;
    ring_push(&m->received, c->id);
    pthread_mutex_unlock(&m->mu);
    return 1;
}

int gp_cmdmgr_note_received(struct gp_cmdmgr *m, const char *id)
{
    pthread_mutex_lock(&m->mu);
    int fresh = !ring_has(&m->received, id) && !ring_has(&m->executed, id);
    if (fresh)
        ring_push(&m->received, id);
    pthread_mutex_unlock(&m->mu);
    return fresh;
}

bool gp_cmdmgr_seen(struct gp_cmdmgr *m, const char *id)
{
    pthread_mutex_lock(&m->mu);
    bool r = ring_has(&m->received, id) || ring_has(&m->executed, id);
    pthread_mutex_unlock(&m->mu);
    return r;
}

bool gp_cmdmgr_executed(struct gp_cmdmgr *m, const char *id)
{
    pthread_mutex_lock(&m->mu);
    bool r = ring_has(&m->executed, id);
    pthread_mutex_unlock(&m->mu);
    return r;
}

bool gp_cmdmgr_peek_class(struct gp_cmdmgr *m, enum gp_cmd_class cls, struct gp_command *out)
{
    pthread_mutex_lock(&m->mu);
    bool r = m->q[cls].n > 0;
    if (r)
        *out = m->q[cls].items[0];
    pthread_mutex_unlock(&m->mu);
    return r;
}

bool gp_cmdmgr_peek(struct gp_cmdmgr *m, struct gp_command *out)
{
    for (int c = 0; c < GP_CLASS_COUNT; c++)
        if (gp_cmdmgr_peek_class(m, (enum gp_cmd_class)c, out))
            return true;
    return false;
}

bool gp_cmdmgr_remove(struct gp_cmdmgr *m, const char *id)
{
    bool found = false;
    pthread_mutex_lock(&m->mu);
    for (int c = 0; c < GP_CLASS_COUNT && !found; c++) {
        struct queue *q = &m->q[c];
        for (size_t i = 0; i < q->n; i++) {
            if (!strcmp(q->items[i].id, id)) {
                memmove(&q->items[i], &q->items[i + 1], (q->n - i - 1) * sizeof(*q->items));
                q->n--;
                found = true;
                break;
            }
        }
    }
    pthread_mutex_unlock(&m->mu);
    return found;
}

size_t gp_cmdmgr_clear_class(struct gp_cmdmgr *m, enum gp_cmd_class cls, struct gp_command *out,
                             size_t max)
{
    pthread_mutex_lock(&m->mu);
    struct queue *q = &m->q[cls];
    size_t n = q->n;
    for (size_t i = 0; i < n && i < max; i++)
        out[i] = q->items[i];
    q->n = 0;
    pthread_mutex_unlock(&m->mu);
    return n;
}

int gp_cmdmgr_mark_executed(struct gp_cmdmgr *m, const char *id, struct gp_err *err)
{
    pthread_mutex_lock(&m->mu);
    ring_push(&m->received, id);
    int rc = 0;
    if (!ring_has(&m->executed, id)) {
        ring_push(&m->executed, id);
        rc = save_history(m, err);
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

void gp_cmdmgr_counts(struct gp_cmdmgr *m, size_t counts[GP_CLASS_COUNT])
{
    pthread_mutex_lock(&m->mu);
    for (int c = 0; c < GP_CLASS_COUNT; c++)
        counts[c] = m->q[c].n;
    pthread_mutex_unlock(&m->mu);
}

size_t gp_cmdmgr_list(struct gp_cmdmgr *m, struct gp_command *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&m->mu);
    for (int c = 0; c < GP_CLASS_COUNT; c++)
        for (size_t i = 0; i < m->q[c].n; i++, n++)
            if (n < max)
                out[n] = m->q[c].items[i];
    pthread_mutex_unlock(&m->mu);
    return n;
}

json_object *gp_cmdmgr_ids_json(struct gp_cmdmgr *m, bool executed, size_t max)
{
    json_object *a = json_object_new_array();
    if (!a)
        return NULL;
    pthread_mutex_lock(&m->mu);
    const struct idring *r = executed ? &m->executed : &m->received;
    size_t from = r->n > max ? r->n - max : 0;
    for (size_t i = from; i < r->n; i++)
        json_object_array_add(a, json_object_new_string(ring_at(r, i)));
    pthread_mutex_unlock(&m->mu);
    return a;
}

void gp_cmdmgr_last_id(struct gp_cmdmgr *m, char *buf, size_t len)
{
    pthread_mutex_lock(&m->mu);
    snprintf(buf, len, "%s", m->received.n ? ring_at(&m->received, m->received.n - 1) : "");
    pthread_mutex_unlock(&m->mu);
}
