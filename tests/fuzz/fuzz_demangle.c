/* fuzz_demangle.c — the demangler wrapper (C++ Itanium and Rust names from users' binaries,
 * through libiberty): any NUL-terminated name must come back as NULL or a NUL-terminated string,
 * never crash, hang or leak; a name that is not mangled-looking is never demangled. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/symbols/demangle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *name = malloc(size + 1);
    if (!name)
        return 0;
    memcpy(name, data, size);
    name[size] = '\0';
    char *dm = gp_demangle(name);
    if (dm && !gp_is_mangled(name))
        abort();
    if (dm)
        (void)strlen(dm);
    free(dm);
    free(name);
    return 0;
}
