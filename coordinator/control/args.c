/* args.c — a request's additional_args as a tree of keys: set, copy and the recursive merge
 * of start commands (see args.h). Values other than objects are opaque text here. */
#include "coordinator/control/args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cp_args *cp_args_new(void)
{
    return calloc(1, sizeof(struct cp_args));
}

void cp_args_free(struct cp_args *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].key);
        free(a->v[i].text);
        cp_args_free(a->v[i].obj);
    }
    free(a->v);
    free(a);
}

const struct cp_arg *cp_args_get(const struct cp_args *a, const char *key)
{
    for (size_t i = 0; a && i < a->n; i++)
        if (strcmp(a->v[i].key, key) == 0)
            return &a->v[i];
    return NULL;
}

int cp_args_set(struct cp_args *a, const char *key, char *text, struct cp_args *obj)
{
    struct cp_arg *cur = (struct cp_arg *)cp_args_get(a, key);
    if (cur) {
        free(cur->text);
        cp_args_free(cur->obj);
        cur->text = text;
        cur->obj = obj;
        return 0;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        struct cp_arg *nv = realloc(a->v, cap * sizeof(*nv));
        if (!nv)
            goto oom;
        a->v = nv;
        a->cap = cap;
    }
    char *k = strdup(key);
    if (!k)
        goto oom;
    a->v[a->n++] = (struct cp_arg){.key = k, .text = text, .obj = obj};
    return 0;
oom:
    free(text);
    cp_args_free(obj);
    return -ENOMEM;
}

/* A copy of one member's value into dst under its key. */
static int set_copy(struct cp_args *dst, const struct cp_arg *m)
{
    if (m->obj) {
        struct cp_args *o;
        if (cp_args_copy(m->obj, &o))
            return -ENOMEM;
        return cp_args_set(dst, m->key, NULL, o);
    }
    char *t = strdup(m->text ? m->text : "null");
    return t ? cp_args_set(dst, m->key, t, NULL) : -ENOMEM;
}

int cp_args_copy(const struct cp_args *src, struct cp_args **out)
{
    *out = NULL;
    if (!src)
        return 0;
    struct cp_args *a = cp_args_new();
    if (!a)
        return -ENOMEM;
    for (size_t i = 0; i < src->n; i++)
        if (set_copy(a, &src->v[i])) {
            cp_args_free(a);
            return -ENOMEM;
        }
    *out = a;
    return 0;
}

int cp_args_merge(const struct cp_args *a, const struct cp_args *b, struct cp_args **out)
{
    struct cp_args *m = NULL;
    if (a ? cp_args_copy(a, &m) : !(m = cp_args_new()))
        return -ENOMEM;
    for (size_t i = 0; b && i < b->n; i++) {
        const struct cp_arg *in = &b->v[i], *cur = cp_args_get(m, in->key);
        int rc;
        if (cur && cur->obj && in->obj) {
            struct cp_args *sub;
            rc = cp_args_merge(cur->obj, in->obj, &sub);
            if (rc == 0)
                rc = cp_args_set(m, in->key, NULL, sub);
        } else {
            rc = set_copy(m, in);
        }
        if (rc) {
            cp_args_free(m);
            *out = NULL;
            return -ENOMEM;
        }
    }
    *out = m;
    return 0;
}
