/* table.c — a binary's unwind table from its ELF file (see table.h): finds the CFI sections
 * through libelf and hands their bytes to the CFI interpreter (cfi.c); lookups by binary search. */
#include "agent/unwind/table.h"
#include "agent/unwind/cfi.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SHT_X86_64_UNWIND_ 0x70000001 /* some linkers type .eh_frame so */

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct image {
    Elf *elf;
    const uint8_t *raw;
    size_t rawlen;
};

/* DW_EH_PE_indirect: the 8 bytes at vaddr, read from the file through its PT_LOAD segments. */
static int image_read_u64(void *ctx, uint64_t vaddr, uint64_t *out)
{
    struct image *im = ctx;
    size_t nph;
    if (!im->raw || elf_getphdrnum(im->elf, &nph) != 0)
        return -1;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(im->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
            continue;
        if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_filesz ||
            ph.p_filesz - (vaddr - ph.p_vaddr) < 8)
            continue;
        uint64_t off = ph.p_offset + (vaddr - ph.p_vaddr);
        if (off > im->rawlen || im->rawlen - off < 8)
            return -1;
        memcpy(out, im->raw + off, 8);
        return 0;
    }
    return -1;
}

static Elf_Scn *find_section(Elf *elf, const char *want, GElf_Shdr *sh)
{
    size_t shstrndx;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0)
        return NULL;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        if (!gelf_getshdr(scn, sh))
            continue;
        const char *n = elf_strptr(elf, shstrndx, sh->sh_name);
        if (n && strcmp(n, want) == 0)
            return scn;
    }
    return NULL;
}

/* The bytes of a section with contents (decompressed when SHF_COMPRESSED): 1, 0 when the
 * section is absent or has no bytes, <0 on a broken section. */
static int section_bytes(Elf *elf, const char *name, struct gp_cfi_section *s, struct gp_err *err)
{
    GElf_Shdr sh;
    Elf_Scn *scn = find_section(elf, name, &sh);
    if (!scn || sh.sh_type == SHT_NOBITS || sh.sh_size == 0)
        return 0;
    if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
        return gp_err_set(err, -EINVAL, "%s: cannot decompress: %s", name, elf_errmsg(-1));
    Elf_Data *d = elf_rawdata(scn, NULL);
    if (!d || !d->d_buf)
        return gp_err_set(err, -EINVAL, "%s at file offset 0x%llx: unreadable: %s", name,
                          (unsigned long long)sh.sh_offset, elf_errmsg(-1));
    s->data = d->d_buf;
    s->size = d->d_size;
    s->addr = sh.sh_addr;
    s->name = name;
    return 1;
}

static uint64_t section_addr(Elf *elf, const char *name)
{
    GElf_Shdr sh;
    return find_section(elf, name, &sh) ? sh.sh_addr : 0;
}

static int open_elf(int fd, struct image *im, struct gp_err *err, const char *what)
{
    elf_version(EV_CURRENT);
    im->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!im->elf || elf_kind(im->elf) != ELF_K_ELF) {
        if (im->elf)
            elf_end(im->elf);
        im->elf = NULL;
        return gp_err_set(err, -EINVAL, "%s is not an ELF file", what);
    }
    GElf_Ehdr eh;
    if (!gelf_getehdr(im->elf, &eh) || eh.e_machine != EM_X86_64) {
        elf_end(im->elf);
        im->elf = NULL;
        return gp_err_set(err, -EINVAL,
                          "%s is not an x86-64 ELF file (unwind tables are x86-64 only)", what);
    }
    im->raw = (const uint8_t *)elf_rawfile(im->elf, &im->rawlen);
    return 0;
}

/* .eh_frame (+ .eh_frame_hdr) of the binary: 1 built, 0 none there. */
static int from_eh_frame(struct image *im, struct gp_uw_table *t, struct gp_err *err)
{
    struct gp_cfi_section eh = {0}, hdr = {0};
    int rc = section_bytes(im->elf, ".eh_frame", &eh, err);
    if (rc <= 0)
        return rc;
    eh.data_base = section_addr(im->elf, ".got.plt");
    if (!eh.data_base)
        eh.data_base = section_addr(im->elf, ".got");
    eh.read_u64 = image_read_u64;
    eh.read_ctx = im;
    int have_hdr = section_bytes(im->elf, ".eh_frame_hdr", &hdr, err);
    if (have_hdr < 0)
        return have_hdr;
    hdr.data_base = hdr.addr;
    rc = gp_cfi_build(&eh, have_hdr ? &hdr : NULL, t, err);
    if (rc)
        return rc;
    t->stats.source = 1;
    return 1;
}

/* .debug_frame of the ELF open in im: 1 built, 0 none there. */
static int from_debug_frame(struct image *im, struct gp_uw_table *t, struct gp_err *err)
{
    struct gp_cfi_section df = {0};
    int rc = section_bytes(im->elf, ".debug_frame", &df, err);
    if (rc <= 0)
        return rc;
    df.debug_frame = 1;
    df.addr = 0; /* .debug_frame is not loaded; its pointers are absolute */
    df.read_u64 = image_read_u64;
    df.read_ctx = im;
    rc = gp_cfi_build(&df, NULL, t, err);
    if (rc)
        return rc;
    t->stats.source = 2;
    return 1;
}

int gp_uw_table_build(int fd, const char *debug_path, struct gp_uw_table **out, struct gp_err *err)
{
    uint64_t t0 = cpu_ns();
    *out = NULL;
    struct gp_uw_table *t = calloc(1, sizeof(*t));
    if (!t)
        return gp_err_set(err, -ENOMEM, "out of memory building an unwind table");
    struct image im = {0};
    int rc = open_elf(fd, &im, err, "the binary");
    if (rc)
        goto fail;
    rc = from_eh_frame(&im, t, err);
    if (rc == 0)
        rc = from_debug_frame(&im, t, err);
    elf_end(im.elf);
    if (rc == 0 && debug_path) {
        int dfd = open(debug_path, O_RDONLY | O_CLOEXEC);
        if (dfd >= 0) {
            struct image dim = {0};
            rc = open_elf(dfd, &dim, err, debug_path);
            if (rc == 0) {
                rc = from_debug_frame(&dim, t, err);
                elf_end(dim.elf);
            }
            close(dfd);
            if (rc < 0)
                gp_err_prefix(err, "%s", debug_path);
        }
    }
    if (rc < 0)
        goto fail;
    t->stats.build_ns = cpu_ns() - t0;
    *out = t;
    return 0;
fail:
    free(t->e);
    free(t);
    return rc;
}

void gp_uw_table_free(struct gp_uw_table *t)
{
    if (!t)
        return;
    free(t->e);
    free(t);
}

static size_t row_index(const struct gp_uw_table *t, uint64_t pc)
{
    size_t lo = 0, hi = t->n; /* first row with e.pc > pc */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->e[mid].pc <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo; /* 0: before the table; else row lo-1 holds pc */
}

const struct gp_uw_entry *gp_uw_table_find(const struct gp_uw_table *t, uint64_t pc)
{
    if (!t || t->n == 0)
        return NULL;
    size_t i = row_index(t, pc);
    return i == 0 ? NULL : &t->e[i - 1]; /* past the end: the last row, GP_UW_NONE */
}

int gp_uw_table_func_start(const struct gp_uw_table *t, uint64_t pc, uint64_t *start)
{
    if (!t || t->n == 0)
        return -ENOENT;
    size_t i = row_index(t, pc);
    if (i == 0)
        return -ENOENT;
    for (size_t k = i; k-- > 0;) {
        if (t->e[k].rule.cfa == GP_UW_NONE)
            return -ENOENT;
        if (t->e[k].flags & GP_UW_F_FUNC_START) {
            *start = t->e[k].pc;
            return 0;
        }
    }
    return -ENOENT;
}
