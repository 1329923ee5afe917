/* elfcache.h — loaded ELF symbol tables shared by every process that maps the same binary,
 * keyed by file identity (dev+inode+mtime+size) and by build-id, bounded by an LRU byte budget. */
#ifndef GPROF_AGENT_SYMBOLS_ELFCACHE_H
#define GPROF_AGENT_SYMBOLS_ELFCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "agent/symbols/elfsyms.h"
#include "common/err.h"

struct gp_elf_key {
    uint64_t dev, ino, size;
    int64_t mtime_ns;
};

struct gp_elf_entry; /* opaque: a loaded gp_elfsyms plus bookkeeping */
struct gp_elfcache;

int gp_elfcache_new(size_t budget_bytes, struct gp_elfcache **out);
void gp_elfcache_free(struct gp_elfcache *c);

void gp_elf_key_from_stat(const struct stat *st, struct gp_elf_key *k);
/* The entry for a file already loaded (by identity), or NULL. Marks it recently used. */
struct gp_elf_entry *gp_elfcache_find(struct gp_elfcache *c, const struct gp_elf_key *k);
/* The entry loaded with this build-id, or NULL. Does not mark it used. */
struct gp_elf_entry *gp_elfcache_find_build_id(struct gp_elfcache *c, const uint8_t *id,
                                               size_t len);
/* Finds or loads the binary open at fd with identity k: a known build-id is loaded once even
 * when it appears under another identity (the same library in two container images). */
int gp_elfcache_get(struct gp_elfcache *c, int fd, const struct gp_elf_key *k,
                    const struct gp_debug_search *ds, struct gp_elf_entry **out,
                    struct gp_err *err);
/* Adds symbols read elsewhere (the loader) under identity k, taking ownership of
 * syms: when k or syms' build-id is already cached, syms is freed and that entry is returned. */
int gp_elfcache_insert(struct gp_elfcache *c, const struct gp_elf_key *k, struct gp_elfsyms *syms,
                       struct gp_elf_entry **out);
struct gp_elfsyms *gp_elf_entry_syms(struct gp_elf_entry *e);

/* Pinned entries are never evicted (an exited process still needs them). Counted. */
void gp_elf_entry_pin(struct gp_elf_entry *e);
void gp_elf_entry_unpin(struct gp_elf_entry *e);

/* Evicts least recently used unpinned entries until the cache fits its budget. Entries (and
 * names returned from them) stay valid until this is called. Returns how many were evicted. */
size_t gp_elfcache_trim(struct gp_elfcache *c);
/* Increments every time trim evicts something: holders of entry pointers compare it. */
uint64_t gp_elfcache_generation(const struct gp_elfcache *c);

struct gp_elfcache_stats {
    uint64_t entries, bytes, loads, hits, build_id_hits, evictions;
};
void gp_elfcache_stats(const struct gp_elfcache *c, struct gp_elfcache_stats *out);

#endif
