/* fsutil.h — small filesystem helpers every daemon needs: creating a directory path.
 * Returns 0 or a negative errno; callers turn that into a message naming the path. */
#ifndef GPROF_COMMON_FSUTIL_H
#define GPROF_COMMON_FSUTIL_H

#include <sys/types.h>

/* mkdir -p: creates path and its missing parents with mode; an existing directory is fine.
 * -ENAMETOOLONG past PATH_MAX. */
int gp_mkdir_p(const char *path, mode_t mode);

#endif
