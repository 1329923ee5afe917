/* cfi.h — DWARF call frame information of x86-64 binaries: CIE/FDE decoding (.eh_frame,
 * .eh_frame_hdr, .debug_frame) and the CFA-rule interpreter that turns it into table.h rows. */
#ifndef GPROF_AGENT_UNWIND_CFI_H
#define GPROF_AGENT_UNWIND_CFI_H

#include <stddef.h>
#include <stdint.h>

#include "agent/unwind/table.h"
#include "common/err.h"

/* One section of CFI as raw bytes. */
struct gp_cfi_section {
    const uint8_t *data;
    size_t size;
    uint64_t addr;      /* ELF virtual address of data[0]: the base of DW_EH_PE_pcrel */
    uint64_t data_base; /* base of DW_EH_PE_datarel (.eh_frame: .got; .eh_frame_hdr: itself) */
    int debug_frame;    /* 1: .debug_frame layout (CIE id ~0, CIE pointers are section offsets) */
    const char *name;   /* for messages: ".eh_frame", ".debug_frame", ".eh_frame_hdr" */
    /* Reads the 8-byte pointer at an ELF virtual address (DW_EH_PE_indirect); NULL: such a
     * pointer is an error. */
    int (*read_u64)(void *ctx, uint64_t vaddr, uint64_t *out);
    void *read_ctx;
};

/* One FDE: the code range it covers and where it is in its section. */
struct gp_cfi_fde {
    uint64_t begin, end;
    size_t off;
};

/* The address range and offset of every FDE of a section, in section order (scan) or in the
 * order of .eh_frame_hdr's table (hdr). FDEs of zero length are left out. *fdes is malloc'd. */
int gp_cfi_scan(const struct gp_cfi_section *s, struct gp_cfi_fde **fdes, size_t *n,
                struct gp_err *err);
int gp_cfi_hdr_fdes(const struct gp_cfi_section *hdr, const struct gp_cfi_section *eh,
                    struct gp_cfi_fde **fdes, size_t *n, struct gp_err *err);

/* The address of .eh_frame that .eh_frame_hdr records (for binaries without section headers,
 * found through PT_GNU_EH_FRAME). */
int gp_cfi_hdr_eh_frame(const struct gp_cfi_section *hdr, uint64_t *addr, struct gp_err *err);

/* Every FDE of s sorted by start: through hdr's table when hdr is given and has one, else by a
 * scan of s. Overlapping FDEs are kept (the table builder keeps the first). */
int gp_cfi_fdes(const struct gp_cfi_section *s, const struct gp_cfi_section *hdr,
                struct gp_cfi_fde **fdes, size_t *n, struct gp_err *err);

/* Builds table rows (t->e, t->n, t->stats except build_ns and source) from a section of CFI and,
 * when hdr is not NULL, the FDE index of .eh_frame_hdr. Callable on raw bytes (the fuzz target
 * does). On error t is left empty. */
int gp_cfi_build(const struct gp_cfi_section *s, const struct gp_cfi_section *hdr,
                 struct gp_uw_table *t, struct gp_err *err);

#endif
