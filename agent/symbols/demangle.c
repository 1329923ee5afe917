/* demangle.c — libiberty's cplus_demangle with automatic style detection (see demangle.h). */
#include "agent/symbols/demangle.h"

#include <demangle.h>
#include <stdlib.h>
#include <string.h>

int gp_is_mangled(const char *name)
{
    return name[0] == '_' &&
           (name[1] == 'Z' || name[1] == 'R' || (name[1] == '_' && name[2] == 'Z'));
}

char *gp_demangle(const char *name)
{
    if (!gp_is_mangled(name))
        return NULL;
    /* No style flag means "auto": libiberty tries Rust (legacy hash-suffixed and v0 _R)
     * before GNU v3 (Itanium C++), which is what we want for mixed binaries. */
    char *d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI);
    if (!d && name[1] == '_')
        d = cplus_demangle(name + 1, DMGL_PARAMS | DMGL_ANSI);
    return d;
}
