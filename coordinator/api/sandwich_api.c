/* sandwich_api.c — GET /api/flamegraph/sandwich: one function's callers (merged toward the root)
 * and callees (merged toward the leaves) from the whole profile, before any stacksCount cut. */
#include "coordinator/api/query_params.h"
#include "common/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_NODE UINT32_MAX

/* A tree of frame names with sample counts; node 0 is the function itself. */
struct sw_node {
    const char *name; /* borrowed from the profile */
    uint64_t value;
    uint32_t first, next; /* first child, next sibling */
    uint32_t parent;
};

/* Nodes, and a hash of (parent, name) -> node so that a wide fan-out stays O(1) per frame. */
struct sw_tree {
    struct sw_node *v;
    uint32_t n, cap;
    uint32_t *slot; /* NO_NODE = empty; nslot is a power of two, at least twice n */
    uint32_t nslot;
};

struct sw_ctx {
    const char *fn;
    struct sw_tree callers, callees;
    uint64_t total, self, all;
};

static uint32_t sw_hash(uint32_t parent, const char *name)
{
    uint32_t h = 2166136261u ^ parent;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static uint32_t *sw_find(const struct sw_tree *t, uint32_t parent, const char *name)
{
    uint32_t mask = t->nslot - 1;
    for (uint32_t k = sw_hash(parent, name) & mask;; k = (k + 1) & mask) {
        uint32_t c = t->slot[k];
        if (c == NO_NODE)
            return &t->slot[k];
        if (t->v[c].parent == parent && strcmp(t->v[c].name, name) == 0)
            return &t->slot[k];
    }
}

static int sw_rehash(struct sw_tree *t, uint32_t nslot)
{
    uint32_t *slot = malloc((size_t)nslot * sizeof(*slot));
    if (!slot)
        return -ENOMEM;
    free(t->slot);
    t->slot = slot;
    t->nslot = nslot;
    memset(slot, 0xff, (size_t)nslot * sizeof(*slot));
    for (uint32_t i = 1; i < t->n; i++)
        *sw_find(t, t->v[i].parent, t->v[i].name) = i;
    return 0;
}

static uint32_t sw_child(struct sw_tree *t, uint32_t at, const char *name)
{
    uint32_t *s = sw_find(t, at, name);
    if (*s != NO_NODE)
        return *s;
    if (t->n == t->cap) {
        uint32_t cap = t->cap * 2;
        struct sw_node *v = realloc(t->v, (size_t)cap * sizeof(*v));
        if (!v)
            return NO_NODE;
        t->v = v;
        t->cap = cap;
    }
    uint32_t c = t->n++;
    t->v[c] = (struct sw_node){name, 0, NO_NODE, t->v[at].first, at};
    t->v[at].first = c;
    if ((uint64_t)t->n * 2 > t->nslot) {
        if (sw_rehash(t, t->nslot * 2)) {
            t->n--; /* not reachable by lookup: drop it again */
            t->v[at].first = t->v[c].next;
            return NO_NODE;
        }
    } else {
        *s = c;
    }
    return c;
}

static int sw_init(struct sw_tree *t, const char *fn)
{
    t->cap = 256;
    t->n = 1;
    t->v = malloc(t->cap * sizeof(*t->v));
    if (!t->v)
        return -ENOMEM;
    t->v[0] = (struct sw_node){fn, 0, NO_NODE, NO_NODE, NO_NODE};
    t->slot = NULL;
    return sw_rehash(t, 512);
}

static void sw_free(struct sw_tree *t)
{
    free(t->v);
    free(t->slot);
}

/* Adds a stack with the function on it: its outermost occurrence splits the stack (a recursive
 * function counts once per sample, as in the flame graph's "total"). */
static int sw_add(const struct gp_stack_view *s, void *arg)
{
    struct sw_ctx *c = arg;
    c->all += s->count;
    uint32_t k = 0;
    while (k < s->nframes && strcmp(s->frames[k], c->fn) != 0)
        k++;
    if (k == s->nframes)
        return 0;
    c->total += s->count;
    if (k == s->nframes - 1)
        c->self += s->count;
    c->callers.v[0].value += s->count;
    c->callees.v[0].value += s->count;
    uint32_t at = 0;
    /* callers, nearest first, ending with the process (the flame graph's first level) */
    for (uint32_t j = k; j-- > 0;) {
        if ((at = sw_child(&c->callers, at, s->frames[j])) == NO_NODE)
            return -ENOMEM;
        c->callers.v[at].value += s->count;
    }
    if (s->comm && *s->comm) {
        if ((at = sw_child(&c->callers, at, s->comm)) == NO_NODE)
            return -ENOMEM;
        c->callers.v[at].value += s->count;
    }
    at = 0;
    for (uint32_t j = k + 1; j < s->nframes; j++) {
        if ((at = sw_child(&c->callees, at, s->frames[j])) == NO_NODE)
            return -ENOMEM;
        c->callees.v[at].value += s->count;
    }
    return 0;
}

/* The tree as Performance Studio's {"name","value","children"} JSON, without recursion. */
struct sw_frame {
    uint32_t next; /* the next child to write */
    bool first;
};

static void sw_open(const struct sw_tree *t, uint32_t i, struct strbuf *sb)
{
    json_object *nm = json_object_new_string(t->v[i].name);
    if (!nm) {
        sb->oom = true;
        return;
    }
    sb_printf(sb, "{\"name\":%s,\"value\":%llu,\"children\":[",
              json_object_to_json_string_ext(nm, JSON_C_TO_STRING_PLAIN),
              (unsigned long long)t->v[i].value);
    json_object_put(nm);
}

/* Nodes deeper than the first level under min samples are left out (the first level, the direct
 * callers or callees, is always complete). */
static void sw_json(const struct sw_tree *t, uint64_t min, struct strbuf *sb)
{
    struct sw_frame *st = malloc(((size_t)t->n + 1) * sizeof(*st));
    if (!st) {
        sb->oom = true;
        return;
    }
    uint32_t top = 0;
    sw_open(t, 0, sb);
    st[top++] = (struct sw_frame){t->v[0].first, true};
    while (top && !sb->oom) {
        struct sw_frame *f = &st[top - 1];
        if (f->next == NO_NODE) {
            sb_puts(sb, "]}");
            top--;
            continue;
        }
        uint32_t c = f->next;
        f->next = t->v[c].next;
        if (top >= 2 && t->v[c].value < min)
            continue;
        if (!f->first)
            sb_putc(sb, ',');
        f->first = false;
        sw_open(t, c, sb);
        st[top++] = (struct sw_frame){t->v[c].first, true};
    }
    free(st);
}

void api_flamegraph_sandwich(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct api_query p;
    if (!api_query_parse(api, r, w, &p, true))
        return;
    const char *fn = http_query(r, "function");
    if (!fn || !*fn) {
        api_query_free(&p);
        http_resp_msg(w, 400, "query parameter function is required (a frame name)");
        return;
    }
    double min_share = 0.001;
    const char *ms = http_query(r, "minShare");
    if (ms && *ms) {
        char *end;
        min_share = strtod(ms, &end);
        if (*end || !(min_share >= 0 && min_share <= 1)) {
            api_query_free(&p);
            http_resp_msg(w, 400, "minShare must be a number in 0..1, got '%.40s'", ms);
            return;
        }
    }
    p.spec.stacks = 0; /* the whole profile: exact counts whatever stacksCount says */
    struct gp_err err = {0};
    struct gp_profile *prof = NULL;
    int rc = query_profile(api->store->index, p.service, p.start, p.end, &p.spec, &prof, &err);
    api_query_free(&p);
    if (rc) {
        api_store_error(w, rc, &err);
        return;
    }
    struct sw_ctx c = {.fn = fn};
    rc = sw_init(&c.callers, fn);
    if (rc == 0)
        rc = sw_init(&c.callees, fn);
    if (rc == 0)
        rc = gp_profile_foreach_sorted(prof, sw_add, &c);
    struct strbuf sb = STRBUF_INIT;
    if (rc == 0) {
        json_object *nm = json_object_new_string(fn);
        sb_printf(
                &sb, "{\"function\":%s,\"total\":%llu,\"self\":%llu,\"samples\":%llu,\"callers\":",
                nm ? json_object_to_json_string_ext(nm, JSON_C_TO_STRING_PLAIN) : "\"\"",
                (unsigned long long)c.total, (unsigned long long)c.self, (unsigned long long)c.all);
        json_object_put(nm);
        uint64_t min = (uint64_t)(min_share * (double)c.total);
        sw_json(&c.callers, min, &sb);
        sb_puts(&sb, ",\"callees\":");
        sw_json(&c.callees, min, &sb);
        sb_putc(&sb, '}');
    }
    sw_free(&c.callers);
    sw_free(&c.callees);
    gp_profile_free(prof);
    if (rc || sb.oom) {
        sb_free(&sb);
        http_resp_msg(w, 500, "out of memory building the sandwich view");
        return;
    }
    size_t len;
    char *body = sb_detach(&sb, &len);
    http_resp_raw(w, 200, "application/json", body, len);
}
