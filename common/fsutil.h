/* fsutil.h — small filesystem helpers every daemon needs: creating a directory path, writing a
 * whole buffer.
 * Returns 0 or a negative errno; callers turn that into a message naming the path. */
#ifndef GPROF_COMMON_FSUTIL_H
#define GPROF_COMMON_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: creates path and its missing parents with mode; an existing directory is fine.
 * -ENAMETOOLONG past PATH_MAX. */
int gp_mkdir_p(const char *path, mode_t mode);
/* write(2) until all len bytes are written, retrying on EINTR. */
int gp_write_all(int fd, const void *buf, size_t len);

#endif
