/* elfsyms.h — the function symbols of one ELF file as a sorted address table, read with libelf
 * from .symtab/.dynsym, separate debug files (build-id, .gnu_debuglink) and .gnu_debugdata. */
#ifndef GPROF_AGENT_SYMBOLS_ELFSYMS_H
#define GPROF_AGENT_SYMBOLS_ELFSYMS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/unwind/table.h"
#include "common/err.h"

#define GP_BUILD_ID_MAX 64

struct gp_sym {
    uint64_t addr; /* ELF virtual address (st_value) */
    uint32_t size; /* st_size, or the gap to the next symbol when st_size is 0 */
    uint32_t name; /* offset into strs */
};

struct gp_elf_load { /* one PT_LOAD segment: maps file offsets to ELF virtual addresses */
    uint64_t off, vaddr, filesz;
};

enum gp_elfsyms_source {
    GP_SRC_SYMTAB = 1, /* .symtab of the binary itself */
    GP_SRC_DYNSYM = 2, /* .dynsym */
    GP_SRC_DEBUG_BUILDID = 4,
    GP_SRC_DEBUGLINK = 8,
    GP_SRC_MINIDEBUG = 16,  /* .gnu_debugdata */
    GP_SRC_DEBUGINFOD = 32, /* a debug file fetched later (gp_elfsyms_add_debug_file) */
};

struct gp_elfsyms {
    struct gp_sym *syms; /* sorted by addr, no duplicates */
    size_t nsyms;
    char *strs; /* raw (mangled) names */
    size_t strs_len;
    char **dm; /* lazily demangled names, one slot per symbol (NULL until needed) */
    struct gp_elf_load *loads;
    size_t nloads;
    uint8_t build_id[GP_BUILD_ID_MAX];
    size_t build_id_len;
    unsigned sources; /* enum gp_elfsyms_source bits that contributed symbols */
    size_t bytes;     /* memory held, for the cache budget */
    /* function ranges from CFI when the symbols are partial (funcstarts.h) */
    struct gp_uw_range *fdes;
    size_t nfdes;
};

/* Where separate debug files are searched. */
struct gp_debug_search {
    const char *const *dirs; /* host debug directories, e.g. "/usr/lib/debug" */
    size_t ndirs;
    const char *root; /* prefix for paths the process sees, e.g. "/proc/42/root"; "" = host */
    const char
            *path; /* the binary's path as the process sees it (for .gnu_debuglink); may be NULL */
};

/* Loads from an open file (fd is not closed). ds may be NULL (no debug file search). */
int gp_elfsyms_load_fd(int fd, const struct gp_debug_search *ds, struct gp_elfsyms **out,
                       struct gp_err *err);
/* Loads from an ELF image in memory (the vDSO). ds may be NULL; when given, only build-id
 * debug files are searched (an image has no directory for .gnu_debuglink). */
int gp_elfsyms_load_mem(const void *image, size_t len, const struct gp_debug_search *ds,
                        struct gp_elfsyms **out, struct gp_err *err);
void gp_elfsyms_free(struct gp_elfsyms *e);

/* Is e worth a debug file from a debuginfod server: it has a build-id, and neither a .symtab,
 * a local debug file nor MiniDebugInfo named its functions? */
int gp_elfsyms_wants_debug_file(const struct gp_elfsyms *e);
/* Adds the .symtab of the debug file at path (its build-id must be e's) to e's symbols; at an
 * address both name, the debug file's name wins. Names looked up in e before are invalid after.
 * Returns 0, -ENOENT (no .symtab or another build-id) or -ENOMEM. */
int gp_elfsyms_add_debug_file(struct gp_elfsyms *e, const char *path, struct gp_err *err);

/* Reads only the GNU build-id of an open ELF file. Returns its length, 0 when none, -errno. */
int gp_elf_build_id_fd(int fd, uint8_t *buf, size_t buflen);
/* Hex form of a build-id into out (2*len+1 bytes). */
void gp_build_id_hex(const uint8_t *id, size_t len, char *out);

/* Translates a file offset into an ELF virtual address through the PT_LOAD segments.
 * Returns 0, or -ENOENT when no segment holds the offset. */
int gp_elfsyms_vaddr(const struct gp_elfsyms *e, uint64_t file_off, uint64_t *vaddr);
/* The (demangled) name of the function containing vaddr, or NULL. Not thread-safe (lazy
 * demangling). */
const char *gp_elfsyms_lookup(struct gp_elfsyms *e, uint64_t vaddr);

#endif
