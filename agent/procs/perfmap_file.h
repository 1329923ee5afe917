/* perfmap_file.h — opening a process's JIT perf map (/tmp/perf-PID.map) safely. The root agent
 * reads a file any local user can plant there, so it takes only a bounded regular file of the
 * process's owner, found inside the process's own root. */
#ifndef GPROF_AGENT_PROCS_PERFMAP_FILE_H
#define GPROF_AGENT_PROCS_PERFMAP_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/err.h"

/* Larger perf maps are refused (a JIT writes some bytes per compiled function). */
#define GP_PERFMAP_MAX_BYTES ((size_t)64 << 20)

/* Opens tmp/perf-NSPID.map under /proc/TGID/root (resolved inside that root, so a container's map
 * is its own; NSPID is the pid as the process sees it). The last component is never followed
 * and a FIFO never blocks; the file must be regular, owned by root or by the owner of
 * /proc/TGID, and at most max bytes. Returns the fd (with *st), -ENOENT when there is none,
 * -ESRCH when the process is gone, or another -errno with err saying why it was refused. */
int gp_perfmap_open(uint32_t tgid, uint32_t nspid, size_t max, struct stat *st, struct gp_err *err);
/* Reads what fd held when opened (st->st_size bytes at most; a JIT appending meanwhile is seen
 * at the next read) into a NUL-terminated malloc'd buffer. 0 or -errno. */
int gp_perfmap_read(int fd, const struct stat *st, char **buf, size_t *len, struct gp_err *err);

#endif
