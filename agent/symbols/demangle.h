/* demangle.h — C++ (Itanium) and Rust (legacy and v0) demangling through libiberty.
 * One function so the symbolizer and tests agree on the exact frame text. */
#ifndef GPROF_AGENT_SYMBOLS_DEMANGLE_H
#define GPROF_AGENT_SYMBOLS_DEMANGLE_H

/* Returns a malloc'd demangled name (with parameter lists for C++), or NULL when name is not
 * a mangled C++/Rust symbol (plain C names are used as they are). */
char *gp_demangle(const char *name);
/* 1 when name looks mangled (starts with _Z, __Z or _R). */
int gp_is_mangled(const char *name);

#endif
