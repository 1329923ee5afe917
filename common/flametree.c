/* flametree.c — builds a name trie from one or two profiles and prints it as tree JSON. */
#include "common/flametree.h"
#include "common/hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct node {
    uint32_t name; /* id in tree.names */
    uint32_t parent;
    uint32_t depth;
    uint32_t first_child, next_sibling; /* UINT32_MAX = none */
    uint64_t v[2];
    int keep;
};

struct tree {
    struct gp_profile *names; /* interner shared by both sides of a diff */
    struct node *nodes;
    size_t n, cap;
    uint32_t *table; /* open addressing on (parent, name): node index + 1 */
    size_t table_cap;
    unsigned flags;
    int side;
    size_t budget; /* stacks that may still create nodes (max_stacks), SIZE_MAX = no limit */
    uint32_t empty_id;
    /* A profile's names are interned, so one string has one address: a cache from address to
     * name id spares hashing and comparing every frame's text (80k frames per query). */
    const char **ptr_keys;
    uint32_t *ptr_ids;
    size_t ptr_cap, ptr_n;
    uint64_t min_value; /* min_fraction's threshold; 0 = no pruning */
    int pruning;        /* min_fraction given: the compact format prints its fields */
    size_t pruned;      /* nodes dropped by min_value */
};

#define NONE    UINT32_MAX
#define MISSING (UINT32_MAX - 1) /* lookup without creating found nothing */

static uint64_t key_hash(uint32_t parent, uint32_t name)
{
    return gp_hash_mix(((uint64_t)parent << 32) ^ name ^ 0x9e3779b97f4a7c15ULL);
}

static int table_grow(struct tree *t)
{
    size_t cap = t->table_cap ? t->table_cap * 2 : 4096;
    uint32_t *tab = calloc(cap, sizeof(*tab));
    if (!tab)
        return -ENOMEM;
    for (size_t k = 1; k < t->n; k++) { /* node 0 is root, never looked up */
        size_t i = key_hash(t->nodes[k].parent, t->nodes[k].name) & (cap - 1);
        while (tab[i])
            i = (i + 1) & (cap - 1);
        tab[i] = (uint32_t)k + 1;
    }
    free(t->table);
    t->table = tab;
    t->table_cap = cap;
    return 0;
}

static uint32_t new_node(struct tree *t, uint32_t parent, uint32_t name)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        struct node *nn = realloc(t->nodes, cap * sizeof(*nn));
        if (!nn)
            return NONE;
        t->nodes = nn;
        t->cap = cap;
    }
    if (t->n >= NONE - 1)
        return NONE;
    uint32_t k = (uint32_t)t->n++;
    t->nodes[k] = (struct node){
            .name = name,
            .parent = parent,
            .depth = parent == NONE ? 0 : t->nodes[parent].depth + 1,
            .first_child = NONE,
            .next_sibling = NONE,
    };
    return k;
}

static int ptr_grow(struct tree *t)
{
    size_t cap = t->ptr_cap ? t->ptr_cap * 2 : 4096;
    const char **keys = calloc(cap, sizeof(*keys));
    uint32_t *ids = malloc(cap * sizeof(*ids));
    if (!keys || !ids) {
        free(keys);
        free(ids);
        return -ENOMEM;
    }
    for (size_t k = 0; k < t->ptr_cap; k++) {
        if (!t->ptr_keys[k])
            continue;
        size_t i = gp_hash_mix((uint64_t)(uintptr_t)t->ptr_keys[k]) & (cap - 1);
        while (keys[i])
            i = (i + 1) & (cap - 1);
        keys[i] = t->ptr_keys[k];
        ids[i] = t->ptr_ids[k];
    }
    free(t->ptr_keys);
    free(t->ptr_ids);
    t->ptr_keys = keys;
    t->ptr_ids = ids;
    t->ptr_cap = cap;
    return 0;
}

/* The name id of a string, looked up by address first. */
static uint32_t name_id(struct tree *t, const char *name)
{
    if ((t->ptr_n + 1) * 2 > t->ptr_cap && ptr_grow(t))
        return GP_NO_ID;
    size_t mask = t->ptr_cap - 1, i = gp_hash_mix((uint64_t)(uintptr_t)name) & mask;
    for (; t->ptr_keys[i]; i = (i + 1) & mask)
        if (t->ptr_keys[i] == name)
            return t->ptr_ids[i];
    uint32_t nid = gp_profile_intern(t->names, name, strlen(name));
    if (nid == GP_NO_ID)
        return GP_NO_ID;
    t->ptr_keys[i] = name;
    t->ptr_ids[i] = nid;
    t->ptr_n++;
    return nid;
}

static uint32_t child(struct tree *t, uint32_t parent, const char *name, int create)
{
    uint32_t nid = name_id(t, name);
    if (nid == GP_NO_ID)
        return NONE;
    if ((t->n + 1) * 2 > t->table_cap && table_grow(t))
        return NONE;
    size_t mask = t->table_cap - 1, i = key_hash(parent, nid) & mask;
    for (; t->table[i]; i = (i + 1) & mask) {
        struct node *c = &t->nodes[t->table[i] - 1];
        if (c->parent == parent && c->name == nid)
            return t->table[i] - 1;
    }
    if (!create)
        return MISSING;
    uint32_t k = new_node(t, parent, nid);
    if (k == NONE)
        return NONE;
    t->table[i] = k + 1;
    return k;
}

/* Adds one stack. Once the max_stacks budget is spent, a stack only adds its samples along
 * the part of its path that already exists, so every node's value stays exact. */
static int add_stack(const struct gp_stack_view *s, void *arg)
{
    struct tree *t = arg;
    uint64_t c = s->count;
    uint32_t at = 0;
    int create = t->budget > 0;
    if (create && t->budget != SIZE_MAX)
        t->budget--;
    t->nodes[0].v[t->side] += c;
    const char *level[2];
    uint32_t nlevel = 0;
    if ((t->flags & GP_FLAMETREE_CONTAINER) && s->container[0])
        level[nlevel++] = s->container;
    if (!(t->flags & GP_FLAMETREE_NO_COMM))
        level[nlevel++] = s->comm;
    for (uint32_t k = 0; k < nlevel + s->nframes; k++) {
        at = child(t, at, k < nlevel ? level[k] : s->frames[k - nlevel], create);
        if (at == MISSING)
            return 0;
        if (at == NONE)
            return -ENOMEM;
        t->nodes[at].v[t->side] += c;
    }
    return 0;
}

/* Upper bound of the nodes a stack can create: its levels above the frames plus its frames
 * (the comm and container levels are counted whether or not the flags use them). */
static int count_nodes(const struct gp_stack_view *s, void *arg)
{
    *(size_t *)arg += (size_t)s->nframes + 2;
    return 0;
}

static uint64_t weight(const struct node *n)
{
    return n->v[0] > n->v[1] ? n->v[0] : n->v[1];
}

static int by_weight(const void *a, const void *b, void *arg)
{
    const struct node *nodes = arg;
    const struct node *x = &nodes[*(const uint32_t *)a], *y = &nodes[*(const uint32_t *)b];
    uint64_t wx = weight(x), wy = weight(y);
    if (wx != wy)
        return wx > wy ? -1 : 1;
    if (x->depth != y->depth) /* a parent before its equally heavy child */
        return x->depth < y->depth ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Orders name ids bytewise (used once per distinct name, not per node). */
static int by_str(const void *a, const void *b, void *arg)
{
    const struct gp_profile *names = arg;
    return strcmp(gp_profile_str(names, *(const uint32_t *)a),
                  gp_profile_str(names, *(const uint32_t *)b));
}

uint64_t gp_flametree_min_value(uint64_t total, double f)
{
    if (!(f > 0))
        return 0;
    double x = (double)total * f;
    uint64_t v = (uint64_t)x;
    if ((double)v < x)
        v++;
    return v ? v : 1;
}

/* Marks the nodes to print (the heaviest max_nodes, then only those of weight >= min_value)
 * and links each node's kept children in name order. */
static int select_and_link(struct tree *t, size_t max_nodes)
{
    uint32_t *order = malloc((t->n ? t->n : 1) * sizeof(*order));
    if (!order)
        return -ENOMEM;
    size_t m = 0;
    for (size_t k = 1; k < t->n; k++)
        order[m++] = (uint32_t)k;
    t->nodes[0].keep = 1;
    if (max_nodes && max_nodes < m) {
        qsort_r(order, m, sizeof(*order), by_weight, t->nodes);
        for (size_t k = 0; k < m; k++) {
            struct node *n = &t->nodes[order[k]];
            n->keep = k < max_nodes && t->nodes[n->parent].keep;
        }
    } else {
        for (size_t k = 0; k < m; k++)
            t->nodes[order[k]].keep = 1;
    }
    if (t->min_value) /* a parent weighs at least its child: kept nodes still form a tree */
        for (size_t k = 1; k < t->n; k++)
            if (t->nodes[k].keep && weight(&t->nodes[k]) < t->min_value) {
                t->nodes[k].keep = 0;
                t->pruned++;
            }
    /* Rank the distinct names once, bucket the kept nodes by rank (counting sort), then
     * prepend them in reverse so every sibling list comes out sorted by name. */
    size_t nnames = 0;
    for (size_t k = 1; k < t->n; k++)
        if (t->nodes[k].name + 1 > nnames)
            nnames = t->nodes[k].name + 1;
    uint32_t *ids = malloc((nnames ? nnames : 1) * sizeof(*ids));
    uint32_t *rank = malloc((nnames ? nnames : 1) * sizeof(*rank));
    size_t *bucket = calloc(nnames + 1, sizeof(*bucket));
    if (!ids || !rank || !bucket) {
        free(ids);
        free(rank);
        free(bucket);
        free(order);
        return -ENOMEM;
    }
    for (size_t k = 0; k < nnames; k++)
        ids[k] = (uint32_t)k;
    qsort_r(ids, nnames, sizeof(*ids), by_str, t->names);
    for (size_t r = 0; r < nnames; r++)
        rank[ids[r]] = (uint32_t)r;
    for (size_t k = 1; k < t->n; k++)
        if (t->nodes[k].keep)
            bucket[rank[t->nodes[k].name] + 1]++;
    for (size_t r = 0; r < nnames; r++)
        bucket[r + 1] += bucket[r];
    size_t kept = bucket[nnames];
    for (size_t k = 1; k < t->n; k++)
        if (t->nodes[k].keep)
            order[bucket[rank[t->nodes[k].name]]++] = (uint32_t)k;
    for (size_t k = kept; k-- > 0;) {
        struct node *n = &t->nodes[order[k]];
        struct node *p = &t->nodes[n->parent];
        n->next_sibling = p->first_child;
        p->first_child = order[k];
    }
    free(ids);
    free(rank);
    free(bucket);
    free(order);
    return 0;
}

static void put_u64(struct strbuf *out, const char *key, uint64_t v)
{
    char buf[48], *e = buf + sizeof(buf), *d = e;
    do {
        *--d = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sb_puts(out, key);
    sb_append(out, d, (size_t)(e - d));
}

#define PUT_LIT(out, lit) sb_append(out, lit, sizeof(lit) - 1)

/* Every distinct name JSON-escaped once: name id k is esc[off[k] .. off[k + 1]). */
struct escaped {
    struct strbuf sb;
    size_t *off;
};

static void emit(struct tree *t, const struct escaped *e, uint32_t k, int diff, struct strbuf *out)
{
    const struct node *n = &t->nodes[k];
    PUT_LIT(out, "{\"name\":");
    if (k == 0)
        PUT_LIT(out, "\"root\"");
    else
        sb_append(out, e->sb.buf + e->off[n->name], e->off[n->name + 1] - e->off[n->name]);
    if (diff) {
        put_u64(out, ",\"value\":", n->v[1]);
        put_u64(out, ",\"before\":", n->v[0]);
        put_u64(out, ",\"after\":", n->v[1]);
    } else {
        put_u64(out, ",\"value\":", n->v[0]);
    }
    PUT_LIT(out, ",\"children\":[");
    for (uint32_t c = n->first_child; c != NONE; c = t->nodes[c].next_sibling) {
        if (c != n->first_child)
            sb_putc(out, ',');
        emit(t, e, c, diff, out);
    }
    PUT_LIT(out, "]}");
}

/* ---- the compact format ---------------------------------------------------------------- */

/* The kind of a frame from the suffix its profiler gave it (gProfiler's conventions). */
int gp_frame_kind(const char *name)
{
    size_t n = strlen(name);
    if (n < 4 || name[n - 1] != ']')
        return GP_KIND_NATIVE;
    const char *lb = name + n - 2; /* the last '[' (suffixes are at most 3 characters) */
    while (lb > name && *lb != '[' && name + n - lb <= 5)
        lb--;
    if (*lb != '[' || lb - 1 <= name || lb[-1] != '_')
        return GP_KIND_NATIVE;
    size_t len = (size_t)(name + n - 1 - (lb + 1));
    const char *s = lb + 1;
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(s, lit, len) == 0)
    if (IS("k"))
        return GP_KIND_KERNEL;
    if (IS("p") || IS("pe"))
        return GP_KIND_PYTHON;
    if (IS("j") || IS("i") || IS("0") || IS("1") || IS("net") || IS("rb") || IS("php") || IS("nd"))
        return GP_KIND_JIT;
#undef IS
    return GP_KIND_NATIVE;
}

static void put_u64_raw(struct strbuf *out, uint64_t v)
{
    char buf[24], *e = buf + sizeof(buf), *d = e;
    do {
        *--d = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sb_append(out, d, (size_t)(e - d));
}

/* {"format":"gprof-flame-compact","version":1,"total":T,"nodes":N,"diff":false,
 *  "kinds":["native","kernel","python","jit"],"names":[…],"nameKind":[…],
 *  "depth":[…],"name":[…],"value":[…](,"before":[…])}: the kept nodes in pre-order (children
 * by name), names[0] the root's and used by no frame, ids by first use. */
static int emit_compact(struct tree *t, const struct escaped *e, int diff, struct strbuf *out)
{
    size_t nnames = 0, kept = 0;
    for (size_t k = 0; k < t->n; k++) {
        if (t->nodes[k].name + 1 > nnames)
            nnames = t->nodes[k].name + 1;
        kept += t->nodes[k].keep != 0;
    }
    uint32_t *order = malloc((kept ? kept : 1) * sizeof(*order));
    uint32_t *stack = malloc((kept + 1) * sizeof(*stack));
    uint32_t *cid = malloc((nnames + 1) * sizeof(*cid));
    uint32_t *byc = malloc((nnames + 2) * sizeof(*byc)); /* compact id -> tree name id */
    if (!order || !stack || !cid || !byc) {
        free(order);
        free(stack);
        free(cid);
        free(byc);
        return -ENOMEM;
    }
    for (size_t k = 0; k <= nnames; k++)
        cid[k] = NONE;
    /* pre-order: push children in reverse so the first child pops first */
    size_t m = 0, sp = 0, nc = 1;
    stack[sp++] = 0;
    while (sp) {
        uint32_t k = stack[--sp];
        order[m++] = k;
        if (k && cid[t->nodes[k].name] == NONE) {
            byc[nc] = t->nodes[k].name;
            cid[t->nodes[k].name] = (uint32_t)nc++;
        }
        size_t first = sp;
        for (uint32_t c = t->nodes[k].first_child; c != NONE; c = t->nodes[c].next_sibling)
            stack[sp++] = c;
        for (size_t a = first, b = sp; a + 1 < b; a++, b--) {
            uint32_t x = stack[a];
            stack[a] = stack[b - 1];
            stack[b - 1] = x;
        }
    }
    sb_reserve(out, m * (diff ? 24 : 16) + e->sb.len + nc * 2 + 256);
    PUT_LIT(out, "{\"format\":\"gprof-flame-compact\",\"version\":1");
    put_u64(out, ",\"total\":", t->nodes[0].v[diff ? 1 : 0]);
    if (diff)
        put_u64(out, ",\"totalBefore\":", t->nodes[0].v[0]);
    put_u64(out, ",\"nodes\":", m);
    if (t->pruning) {
        put_u64(out, ",\"minValue\":", t->min_value);
        put_u64(out, ",\"prunedNodes\":", t->pruned);
    }
    sb_puts(out, diff ? ",\"diff\":true" : ",\"diff\":false");
    PUT_LIT(out, ",\"kinds\":[\"native\",\"kernel\",\"python\",\"jit\"],\"names\":[\"root\"");
    for (size_t c = 1; c < nc; c++) {
        sb_putc(out, ',');
        sb_append(out, e->sb.buf + e->off[byc[c]], e->off[byc[c] + 1] - e->off[byc[c]]);
    }
    PUT_LIT(out, "],\"nameKind\":[0");
    for (size_t c = 1; c < nc; c++) {
        sb_putc(out, ',');
        sb_putc(out, (char)('0' + gp_frame_kind(gp_profile_str(t->names, byc[c]))));
    }
    PUT_LIT(out, "],\"depth\":[");
    for (size_t i = 0; i < m; i++) {
        if (i)
            sb_putc(out, ',');
        put_u64_raw(out, t->nodes[order[i]].depth);
    }
    PUT_LIT(out, "],\"name\":[");
    for (size_t i = 0; i < m; i++) {
        if (i)
            sb_putc(out, ',');
        put_u64_raw(out, order[i] ? cid[t->nodes[order[i]].name] : 0);
    }
    PUT_LIT(out, "],\"value\":[");
    for (size_t i = 0; i < m; i++) {
        if (i)
            sb_putc(out, ',');
        put_u64_raw(out, t->nodes[order[i]].v[diff ? 1 : 0]);
    }
    if (diff) {
        PUT_LIT(out, "],\"before\":[");
        for (size_t i = 0; i < m; i++) {
            if (i)
                sb_putc(out, ',');
            put_u64_raw(out, t->nodes[order[i]].v[0]);
        }
    }
    if (t->pruning) { /* own samples: the value less every child's, dropped children included */
        uint64_t *self = malloc((t->n ? t->n : 1) * sizeof(*self));
        if (!self) {
            free(order);
            free(stack);
            free(cid);
            free(byc);
            return -ENOMEM;
        }
        int side = diff ? 1 : 0;
        for (size_t k = 0; k < t->n; k++)
            self[k] = t->nodes[k].v[side];
        for (size_t k = 1; k < t->n; k++)
            self[t->nodes[k].parent] -= t->nodes[k].v[side];
        PUT_LIT(out, "],\"self\":[");
        for (size_t i = 0; i < m; i++) {
            if (i)
                sb_putc(out, ',');
            put_u64_raw(out, self[order[i]]);
        }
        free(self);
    }
    PUT_LIT(out, "]}");
    free(order);
    free(stack);
    free(cid);
    free(byc);
    return out->oom ? -ENOMEM : 0;
}

/* ---- the whole tree of one profile: sorted stacks, no hash table ----------------------------
 * Without truncation or a diff, the tree is built from the stacks sorted by their levels (names
 * ranked bytewise): a stack shares with the one before it exactly the nodes of their common
 * prefix, so nodes are created in pre-order with children by name — the order both formats
 * print — and no (parent, name) lookup is needed. Same output as the general path. */

struct seqs {
    const uint32_t *seq; /* every stack's levels as name ranks (1-based), 0-terminated */
    const size_t *off;   /* stack k's levels start at seq[off[k]] */
};

static int seq_cmp_from(const struct seqs *s, uint32_t x, uint32_t y, size_t d)
{
    const uint32_t *a = s->seq + s->off[x] + d, *b = s->seq + s->off[y] + d;
    for (; *a == *b; a++, b++)
        if (!*a)
            return 0;
    return *a < *b ? -1 : 1;
}

struct mkq_task {
    uint32_t *a;
    size_t n, d;
};

/* Multikey quicksort (Bentley & Sedgewick) of stack indexes by their level sequences: each level
 * is compared once per partition instead of once per comparison. An explicit task stack keeps
 * the depth off the thread's stack whatever the data. */
static int mkq_sort(uint32_t *idx, size_t n, const struct seqs *s)
{
    size_t cap = 64, sp = 0;
    struct mkq_task *st = malloc(cap * sizeof(*st));
    if (!st)
        return -ENOMEM;
    st[sp++] = (struct mkq_task){idx, n, 0};
    while (sp) {
        struct mkq_task t = st[--sp];
        if (t.n < 12) {
            for (size_t i = 1; i < t.n; i++)
                for (size_t j = i; j > 0 && seq_cmp_from(s, t.a[j - 1], t.a[j], t.d) > 0; j--) {
                    uint32_t x = t.a[j];
                    t.a[j] = t.a[j - 1];
                    t.a[j - 1] = x;
                }
            continue;
        }
#define KEY(i) (s->seq[s->off[t.a[i]] + t.d])
        uint32_t k0 = KEY(0), k1 = KEY(t.n / 2), k2 = KEY(t.n - 1);
        uint32_t v = k0 < k1 ? (k1 < k2 ? k1 : (k0 < k2 ? k2 : k0))
                             : (k0 < k2 ? k0 : (k1 < k2 ? k2 : k1));
        size_t lt = 0, i = 0, gt = t.n;
        while (i < gt) {
            uint32_t k = KEY(i);
            if (k < v) {
                uint32_t x = t.a[lt];
                t.a[lt++] = t.a[i];
                t.a[i++] = x;
            } else if (k > v) {
                uint32_t x = t.a[--gt];
                t.a[gt] = t.a[i];
                t.a[i] = x;
            } else {
                i++;
            }
        }
#undef KEY
        if (sp + 3 > cap) {
            struct mkq_task *ns = realloc(st, cap * 2 * sizeof(*ns));
            if (!ns) {
                free(st);
                return -ENOMEM;
            }
            st = ns;
            cap *= 2;
        }
        if (lt > 1)
            st[sp++] = (struct mkq_task){t.a, lt, t.d};
        if (t.n - gt > 1)
            st[sp++] = (struct mkq_task){t.a + gt, t.n - gt, t.d};
        if (v && gt - lt > 1) /* equal so far: the next level decides (0: equal sequences) */
            st[sp++] = (struct mkq_task){t.a + lt, gt - lt, t.d + 1};
    }
    free(st);
    return 0;
}

static char *put_dec(char *d, uint64_t v)
{
    char buf[24], *e = buf + sizeof(buf), *b = e;
    do {
        *--b = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(d, b, (size_t)(e - b));
    return d + (e - b);
}

#define CPY_LIT(d, lit) (memcpy(d, lit, sizeof(lit) - 1), (d) + sizeof(lit) - 1)

static int build_sorted(struct gp_profile *p, unsigned flags, double min_fraction, int compact,
                        struct strbuf *out)
{
    size_t ns = gp_profile_nstacks(p), nstr = gp_profile_nstrs(p), total = 1;
    struct gp_stack_ids si;
    for (size_t k = 0; k < ns; k++) {
        gp_profile_stack_ids(p, k, &si);
        total += (size_t)si.nframes + 3;
    }
    uint32_t *ids = malloc((nstr ? nstr : 1) * sizeof(*ids));
    uint32_t *rank = malloc((nstr ? nstr : 1) * sizeof(*rank));
    uint32_t *seq = malloc(total * sizeof(*seq));
    size_t *off = malloc((ns ? ns : 1) * sizeof(*off));
    uint32_t *order = malloc((ns ? ns : 1) * sizeof(*order));
    /* nodes in pre-order: name rank, depth, value; node 0 is root */
    uint32_t *nname = malloc(total * sizeof(*nname)), *ndepth = malloc(total * sizeof(*ndepth));
    uint64_t *nval = malloc(total * sizeof(*nval));
    uint64_t *nself = NULL; /* with min_fraction: each node's own samples */
    uint32_t *path = malloc(total * sizeof(*path));
    uint32_t *cid = calloc(nstr + 1, sizeof(*cid));    /* rank -> compact id (0 = not yet) */
    uint32_t *byc = malloc((nstr + 1) * sizeof(*byc)); /* compact id -> rank */
    size_t *eoff = malloc((nstr + 2) * sizeof(*eoff)); /* rank -> escaped name in esc */
    struct strbuf esc = STRBUF_INIT;
    int rc = -ENOMEM;
    if (!ids || !rank || !seq || !off || !order || !nname || !ndepth || !nval || !path || !cid ||
        !byc || !eoff)
        goto out;
    for (size_t k = 0; k < nstr; k++)
        ids[k] = (uint32_t)k;
    qsort_r(ids, nstr, sizeof(*ids), by_str, p);
    for (size_t r = 0; r < nstr; r++)
        rank[ids[r]] = (uint32_t)r + 1;
    size_t pos = 0;
    for (size_t k = 0; k < ns; k++) {
        gp_profile_stack_ids(p, k, &si);
        off[k] = pos;
        order[k] = (uint32_t)k;
        if ((flags & GP_FLAMETREE_CONTAINER) && gp_profile_str(p, si.container)[0])
            seq[pos++] = rank[si.container];
        if (!(flags & GP_FLAMETREE_NO_COMM))
            seq[pos++] = rank[si.comm];
        for (uint32_t f = 0; f < si.nframes; f++)
            seq[pos++] = rank[si.frames[f]];
        seq[pos++] = 0;
    }
    struct seqs s = {seq, off};
    if (mkq_sort(order, ns, &s))
        goto out;
    /* the trie, in pre-order */
    size_t m = 1;
    nname[0] = 0;
    ndepth[0] = 0;
    nval[0] = 0;
    const uint32_t *prev = NULL;
    for (size_t k = 0; k < ns; k++) {
        gp_profile_stack_ids(p, order[k], &si);
        const uint32_t *q = seq + off[order[k]];
        uint64_t c = si.count;
        nval[0] += c;
        size_t d = 0;
        if (prev)
            for (; q[d] && q[d] == prev[d]; d++)
                nval[path[d]] += c;
        for (; q[d]; d++) {
            nname[m] = q[d];
            ndepth[m] = (uint32_t)d + 1;
            nval[m] = c;
            path[d] = (uint32_t)m++;
        }
        prev = q;
    }
    /* min_fraction: own samples of every node, then keep the nodes of value >= the threshold
     * (in place; a parent weighs at least its child, so the pre-order stays a tree) */
    uint64_t min_value = 0;
    size_t pruned = 0;
    if (min_fraction > 0) {
        min_value = gp_flametree_min_value(nval[0], min_fraction);
        if (!(nself = malloc(m * sizeof(*nself))))
            goto out;
        for (size_t i = 0; i < m; i++) {
            nself[i] = nval[i];
            if (i)
                nself[path[ndepth[i] - 1]] -= nval[i];
            path[ndepth[i]] = (uint32_t)i;
        }
        size_t w = 1;
        for (size_t i = 1; i < m; i++)
            if (nval[i] >= min_value) {
                nname[w] = nname[i];
                ndepth[w] = ndepth[i];
                nval[w] = nval[i];
                nself[w++] = nself[i];
            }
        pruned = m - w;
        m = w;
    }
    /* escape each name in use once; compact ids by first use */
    size_t nc = 1;
    for (size_t i = 1; i < m; i++) {
        uint32_t r = nname[i];
        if (!cid[r]) {
            cid[r] = (uint32_t)nc;
            byc[nc++] = r;
        }
    }
    for (size_t c = 1; c < nc; c++) {
        size_t before = esc.len;
        sb_json_str(&esc, gp_profile_str(p, ids[byc[c] - 1]));
        eoff[byc[c]] = before;
    }
    if (esc.oom)
        goto out;
        /* end offsets: the escaped text of rank r is esc[eoff[r] .. eend(r)) */
#define ELEN(r) (cid[r] + 1 < nc ? eoff[byc[cid[r] + 1]] - eoff[r] : esc.len - eoff[r])
    if (compact) {
        size_t need = 512 + esc.len + nc * 3 + m * (11 + 11 + 21 + (nself ? 21 : 0));
        if (sb_reserve(out, need))
            goto out;
        char *d = out->buf + out->len;
        d = CPY_LIT(d, "{\"format\":\"gprof-flame-compact\",\"version\":1,\"total\":");
        d = put_dec(d, nval[0]);
        d = CPY_LIT(d, ",\"nodes\":");
        d = put_dec(d, m);
        if (nself) {
            d = CPY_LIT(d, ",\"minValue\":");
            d = put_dec(d, min_value);
            d = CPY_LIT(d, ",\"prunedNodes\":");
            d = put_dec(d, pruned);
        }
        d = CPY_LIT(d, ",\"diff\":false,\"kinds\":[\"native\",\"kernel\",\"python\",\"jit\"],"
                       "\"names\":[\"root\"");
        for (size_t c = 1; c < nc; c++) {
            *d++ = ',';
            memcpy(d, esc.buf + eoff[byc[c]], ELEN(byc[c]));
            d += ELEN(byc[c]);
        }
        d = CPY_LIT(d, "],\"nameKind\":[0");
        for (size_t c = 1; c < nc; c++) {
            *d++ = ',';
            *d++ = (char)('0' + gp_frame_kind(gp_profile_str(p, ids[byc[c] - 1])));
        }
        d = CPY_LIT(d, "],\"depth\":[");
        for (size_t i = 0; i < m; i++) {
            if (i)
                *d++ = ',';
            d = put_dec(d, ndepth[i]);
        }
        d = CPY_LIT(d, "],\"name\":[");
        for (size_t i = 0; i < m; i++) {
            if (i)
                *d++ = ',';
            d = put_dec(d, i ? cid[nname[i]] : 0);
        }
        d = CPY_LIT(d, "],\"value\":[");
        for (size_t i = 0; i < m; i++) {
            if (i)
                *d++ = ',';
            d = put_dec(d, nval[i]);
        }
        if (nself) {
            d = CPY_LIT(d, "],\"self\":[");
            for (size_t i = 0; i < m; i++) {
                if (i)
                    *d++ = ',';
                d = put_dec(d, nself[i]);
            }
        }
        d = CPY_LIT(d, "]}");
        out->len = (size_t)(d - out->buf);
        out->buf[out->len] = '\0';
        rc = 0;
        goto out;
    }
    size_t need = 64;
    for (size_t i = 1; i < m; i++)
        need += ELEN(nname[i]) + 21 + 36;
    if (sb_reserve(out, need))
        goto out;
    char *d = out->buf + out->len;
    for (size_t i = 0; i < m; i++) {
        if (i && ndepth[i] <= ndepth[i - 1]) {
            for (uint32_t k = ndepth[i]; k <= ndepth[i - 1]; k++)
                d = CPY_LIT(d, "]}");
            *d++ = ',';
        }
        d = CPY_LIT(d, "{\"name\":");
        if (i) {
            memcpy(d, esc.buf + eoff[nname[i]], ELEN(nname[i]));
            d += ELEN(nname[i]);
        } else {
            d = CPY_LIT(d, "\"root\"");
        }
        d = CPY_LIT(d, ",\"value\":");
        d = put_dec(d, nval[i]);
        d = CPY_LIT(d, ",\"children\":[");
    }
    for (uint32_t k = 0; k <= ndepth[m - 1]; k++)
        d = CPY_LIT(d, "]}");
    out->len = (size_t)(d - out->buf);
    out->buf[out->len] = '\0';
    rc = 0;
#undef ELEN
out:
    free(ids);
    free(rank);
    free(seq);
    free(off);
    free(order);
    free(nname);
    free(ndepth);
    free(nval);
    free(nself);
    free(path);
    free(cid);
    free(byc);
    free(eoff);
    sb_free(&esc);
    return rc;
}

static int build(struct gp_profile *a, struct gp_profile *b, const struct gp_flametree_opts *o,
                 int compact, struct strbuf *out, struct gp_err *err)
{
    struct gp_flametree_opts opts = {0};
    if (o)
        opts = *o;
    if (!b && !opts.max_nodes && !opts.max_stacks) {
        int frc = build_sorted(a, opts.flags, opts.min_fraction, compact, out);
        if (frc)
            gp_err_set(err, frc, "flame graph tree: out of memory (%zu stacks)",
                       gp_profile_nstacks(a));
        return frc;
    }
    struct tree t = {.flags = opts.flags, .pruning = opts.min_fraction > 0};
    struct escaped esc = {.sb = STRBUF_INIT};
    int rc = -ENOMEM;
    /* Reserve nodes and hash tables once for the (at most) frames + levels of every stack,
     * instead of doubling and rehashing ~17 times on a big profile. */
    size_t bound = 1;
    for (int side = 0; side < (b ? 2 : 1); side++)
        if (gp_profile_foreach(side ? b : a, count_nodes, &bound))
            goto out;
    if (bound > (1u << 22))
        bound = 1u << 22; /* the tables still grow past this when needed */
    if (!(t.nodes = malloc(bound * sizeof(*t.nodes))))
        goto out;
    t.cap = bound;
    while (t.table_cap < bound * 2)
        t.table_cap = t.table_cap ? t.table_cap * 2 : 4096;
    t.table_cap /= 2; /* table_grow doubles it */
    if (table_grow(&t))
        goto out;
    if (!(t.names = gp_profile_new()) || new_node(&t, NONE, 0) == NONE)
        goto out;
    for (int side = 0; side < (b ? 2 : 1); side++) {
        t.side = side;
        t.budget = opts.max_stacks ? opts.max_stacks : SIZE_MAX;
        rc = opts.max_stacks ? gp_profile_foreach_sorted(side ? b : a, add_stack, &t)
                             : gp_profile_foreach(side ? b : a, add_stack, &t);
        if (rc)
            goto out;
    }
    if (t.pruning) {
        uint64_t w0 = weight(&t.nodes[0]);
        t.min_value = gp_flametree_min_value(w0, opts.min_fraction);
    }
    if ((rc = select_and_link(&t, opts.max_nodes)))
        goto out;
    size_t nnames = 1;
    for (size_t k = 1; k < t.n; k++)
        if (t.nodes[k].name + 1 > nnames)
            nnames = t.nodes[k].name + 1;
    esc.off = malloc((nnames + 1) * sizeof(*esc.off));
    if (!esc.off) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t k = 0; k < nnames; k++) {
        esc.off[k] = esc.sb.len;
        sb_json_str(&esc.sb, gp_profile_str(t.names, (uint32_t)k));
    }
    esc.off[nnames] = esc.sb.len;
    if (esc.sb.oom) {
        rc = -ENOMEM;
        goto out;
    }
    if (compact) {
        rc = emit_compact(&t, &esc, b != NULL, out);
        goto out;
    }
    size_t est = 0; /* one reservation instead of many doublings */
    for (size_t k = 0; k < t.n; k++)
        if (t.nodes[k].keep)
            est += esc.off[t.nodes[k].name + 1] - esc.off[t.nodes[k].name] + (b ? 70 : 40);
    sb_reserve(out, est);
    emit(&t, &esc, 0, b != NULL, out);
    rc = out->oom ? -ENOMEM : 0;
out:
    if (rc)
        gp_err_set(err, rc, "flame graph tree: out of memory (%zu nodes)", t.n);
    gp_profile_free(t.names);
    free(t.nodes);
    free(t.table);
    free(t.ptr_keys);
    free(t.ptr_ids);
    sb_free(&esc.sb);
    free(esc.off);
    return rc;
}

int gp_flametree_json(struct gp_profile *p, const struct gp_flametree_opts *o, struct strbuf *out,
                      struct gp_err *err)
{
    return build(p, NULL, o, 0, out, err);
}

int gp_flametree_compact(struct gp_profile *p, const struct gp_flametree_opts *o,
                         struct strbuf *out, struct gp_err *err)
{
    return build(p, NULL, o, 1, out, err);
}

int gp_flametree_diff_compact(struct gp_profile *before, struct gp_profile *after,
                              const struct gp_flametree_opts *o, struct strbuf *out,
                              struct gp_err *err)
{
    return build(before, after, o, 1, out, err);
}

int gp_flametree_diff_json(struct gp_profile *before, struct gp_profile *after,
                           const struct gp_flametree_opts *o, struct strbuf *out,
                           struct gp_err *err)
{
    return build(before, after, o, 0, out, err);
}
