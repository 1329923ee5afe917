/* rangetab.h — a sorted table of named address ranges: the storage and lookup shared by the
 * kernel symbol table (/proc/kallsyms) and JIT perf maps (/tmp/perf-PID.map). */
#ifndef GPROF_AGENT_SYMBOLS_RANGETAB_H
#define GPROF_AGENT_SYMBOLS_RANGETAB_H

#include <stddef.h>
#include <stdint.h>

struct gp_range {
    uint64_t start, size; /* size 0: up to the next range */
    uint32_t name;        /* offset into strs */
    uint32_t seq;         /* input order: a later entry at the same start wins */
};

struct gp_rangetab {
    struct gp_range *v;
    size_t n, cap;
    char *strs;
    size_t slen, scap;
    size_t bytes;
    void *map; /* set when v and strs point into a file mapped by gp_rangetab_map() */
    size_t map_len;
};

/* Makes room for n entries and str_bytes of names (a hint: adds grow the table anyway).
 * Returns 0 or -ENOMEM. */
int gp_rangetab_reserve(struct gp_rangetab *t, size_t n, size_t str_bytes);
/* Appends one entry; name is copied with suffix appended (may be NULL). Returns 0 or -ENOMEM. */
int gp_rangetab_add(struct gp_rangetab *t, uint64_t start, uint64_t size, const char *name,
                    size_t namelen, const char *suffix);
/* Sorts and removes shadowed duplicates; sets sizes of unsized ranges to the gap to the next
 * (the last unsized range gets last_size). Call once after the adds. */
void gp_rangetab_finish(struct gp_rangetab *t, uint64_t last_size);
/* Name of the range containing addr, or NULL. */
const char *gp_rangetab_lookup(const struct gp_rangetab *t, uint64_t addr);
void gp_rangetab_free(struct gp_rangetab *t);

/* A finished table as a file: written by save, mapped read-only by map (no parsing, pages read
 * as lookups touch them). tag (up to 64 bytes) is stored with it; map succeeds only when the
 * file's tag is the same, so callers tag what the table was built from. Both return 0 or
 * -errno (map: -ESTALE for another tag, -EINVAL for a file that is not a table). */
int gp_rangetab_save(const struct gp_rangetab *t, int fd, const void *tag, size_t taglen);
int gp_rangetab_map(struct gp_rangetab *t, int fd, const void *tag, size_t taglen);

#endif
