/* maps.h — parsing of /proc/PID/maps into the executable mappings of a process.
 * The symbolizer needs start, end, file offset, device, inode and path to turn an ip into a file
 * offset. */
#ifndef GPROF_AGENT_PROCS_MAPS_H
#define GPROF_AGENT_PROCS_MAPS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum gp_map_kind {
    GP_MAP_FILE = 0, /* backed by a file (path is absolute) */
    GP_MAP_ANON,     /* anonymous memory (JIT code lives here) */
    GP_MAP_VDSO,     /* [vdso] */
    GP_MAP_SPECIAL,  /* other [name] pseudo mappings ([vsyscall], [stack], [heap]...) */
};

struct gp_map {
    uint64_t start, end; /* [start, end) virtual addresses */
    uint64_t offset;     /* file offset of start */
    uint32_t dev_major, dev_minor;
    uint64_t inode;
    enum gp_map_kind kind;
    int deleted; /* the path carried " (deleted)": the file was unlinked or replaced */
    char perms[5];
    char *path; /* as shown by the kernel, " (deleted)" stripped; "" for anonymous */
};

struct gp_maps {
    struct gp_map *v; /* sorted by start (the kernel prints them in order) */
    size_t n;
};

/* Parses the text of a maps file. Keeps only executable mappings when exec_only is set.
 * Malformed lines are an error (-EINVAL) naming the line. */
int gp_maps_parse(const char *text, size_t len, int exec_only, struct gp_maps *out,
                  struct gp_err *err);
/* Reads and parses /proc/PID/maps. -ESRCH when the process is gone. */
int gp_maps_read(uint32_t pid, int exec_only, struct gp_maps *out, struct gp_err *err);
void gp_maps_free(struct gp_maps *m);
/* The mapping containing addr, or NULL. */
const struct gp_map *gp_maps_find(const struct gp_maps *m, uint64_t addr);
/* Opens the file behind mapping m of live process tgid: /proc/PID/map_files gives the exact
 * file (even deleted or in another mount namespace), /proc/PID/root/<path> is the fallback.
 * A fallback file that is not regular, or whose inode is not `inode` (when not 0), was replaced
 * since it was mapped: -ESTALE. Returns the descriptor (st filled) or -errno. */
struct stat;
int gp_map_open(uint32_t tgid, const struct gp_map *m, uint64_t inode, struct stat *st);
/* Basename of the mapping's path ("[vdso]", "[anon]" for anonymous memory). */
const char *gp_map_module_name(const struct gp_map *m);

/* Reads a whole (proc) file into a NUL-terminated malloc'd buffer. Returns 0 or -errno: a
 * symlink as the last component is -ELOOP, anything but a regular file -EINVAL (never blocks on
 * a FIFO), more than GP_READ_FILE_MAX bytes -EFBIG. */
#define GP_READ_FILE_MAX ((size_t)256 << 20)
int gp_read_file(const char *path, char **buf, size_t *len);

#endif
