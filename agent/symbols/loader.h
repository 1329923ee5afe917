/* loader.h — binaries opened while their process lived and read only when a stack first needs
 * them: a held file per identity, shared by every mapping that refers to it, closed with the last.
 */
#ifndef GPROF_AGENT_SYMBOLS_LOADER_H
#define GPROF_AGENT_SYMBOLS_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "agent/symbols/elfcache.h"
#include "agent/symbols/elfsyms.h"

struct gp_loader;

/* dirs (debug directories) must outlive the loader. Returns 0 or -ENOMEM. */
int gp_loader_new(const char *const *dirs, size_t ndirs, struct gp_loader **out);
/* Closes every held file. */
void gp_loader_free(struct gp_loader *l);

/* Holds the ELF open at fd (identity k) for one more mapping. When k is held already the new
 * descriptors are closed and the existing hold is shared. Takes ownership of fd, rootfd (an
 * O_PATH handle on the process's root for debug-file lookups, or -1) and path (malloc'd; the
 * path the process sees) in every case. Returns a hold id (never 0), or 0 when out of memory. */
uint64_t gp_loader_hold(struct gp_loader *l, const struct gp_elf_key *k, int fd, int rootfd,
                        char *path);
/* Another mapping refers to the file with identity k, when it is held: returns the hold's id
 * (counted like gp_loader_hold), or 0 when k is not held. */
uint64_t gp_loader_ref(struct gp_loader *l, const struct gp_elf_key *k);
/* A mapping no longer needs hold id; the file closes with the last reference. Ids of holds
 * already read or released are ignored. */
void gp_loader_release(struct gp_loader *l, uint64_t id);
/* Reads the held file with identity k now and ends its hold. Returns 1 (and *syms, NULL when it
 * is not a readable ELF), or 0 when k is not held. */
int gp_loader_take(struct gp_loader *l, const struct gp_elf_key *k, struct gp_elfsyms **syms);
/* Reads the oldest held file (for callers that warm the cache when idle). Returns 1 with *k and
 * *syms set, or 0 when nothing is held. */
int gp_loader_take_any(struct gp_loader *l, struct gp_elf_key *k, struct gp_elfsyms **syms);
/* Files held and not read yet. */
size_t gp_loader_pending(const struct gp_loader *l);

#endif
