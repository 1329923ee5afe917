/* funcstarts.h — the function starts (FDE ranges of its CFI) of a binary whose symbol tables
 * are partial, so a frame in a function without a symbol is named by that function's start. */
#ifndef GPROF_AGENT_SYMBOLS_FUNCSTARTS_H
#define GPROF_AGENT_SYMBOLS_FUNCSTARTS_H

#include <stdint.h>

#include "agent/symbols/elfsyms.h"

/* Reads the FDE ranges of the ELF open on fd into e (e->fdes, counted in e->bytes) when e has
 * only .dynsym (no .symtab, debug file or MiniDebugInfo: stripped library internals have no
 * name). Broken or missing CFI leaves e without them; never an error. */
void gp_funcstarts_load(struct gp_elfsyms *e, int fd);
/* The file offset of the start of the function (FDE) holding ELF virtual address vaddr: 0 and
 * *file_off, or -ENOENT (no FDE holds it, or its start is outside every PT_LOAD segment). */
int gp_funcstarts_offset(const struct gp_elfsyms *e, uint64_t vaddr, uint64_t *file_off);

#endif
