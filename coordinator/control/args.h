/* args.h — a request's additional_args as a tree of keys (set, copy, the recursive merge of
 * start commands); values other than objects are opaque encoded text here. */
#ifndef GPROF_COORD_CONTROL_ARGS_H
#define GPROF_COORD_CONTROL_ARGS_H

#include <stddef.h>

/* A request's additional_args, an object, as a tree of keys in the order given: a member that
 * is itself an object is a subtree; any other value is kept as its encoded text, which only
 * the api layer reads and writes (the control plane merges keys, never values). */
struct cp_args;
struct cp_arg {
    char *key;
    char *text;          /* a value other than an object (NULL when obj is set) */
    struct cp_args *obj; /* an object */
};
struct cp_args {
    struct cp_arg *v;
    size_t n, cap;
};

/* A new empty tree, NULL when out of memory. */
struct cp_args *cp_args_new(void);
void cp_args_free(struct cp_args *a);
/* Sets key to text or obj (exactly one non-NULL; ownership passes, also on failure): an
 * existing key keeps its place and gets the new value. 0 or -ENOMEM. */
int cp_args_set(struct cp_args *a, const char *key, char *text, struct cp_args *obj);
const struct cp_arg *cp_args_get(const struct cp_args *a, const char *key);
/* A deep copy (NULL in, NULL out; *out NULL when out of memory with a non-NULL src). */
int cp_args_copy(const struct cp_args *src, struct cp_args **out);
/* b's keys over a copy of a (either may be NULL), objects merged key by key, recursively. */
int cp_args_merge(const struct cp_args *a, const struct cp_args *b, struct cp_args **out);

#endif
