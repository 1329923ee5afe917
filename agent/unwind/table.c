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

/* The bytes at [vaddr, end of its PT_LOAD segment's file image). */
static int segment_bytes(struct image *im, uint64_t vaddr, const uint8_t **p, size_t *n)
{
    size_t nph;
    if (!im->raw || elf_getphdrnum(im->elf, &nph) != 0)
        return -1;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(im->elf, (int)i, &ph) || ph.p_type != PT_LOAD || vaddr < ph.p_vaddr ||
            vaddr - ph.p_vaddr >= ph.p_filesz)
            continue;
        uint64_t off = ph.p_offset + (vaddr - ph.p_vaddr);
        uint64_t len = ph.p_filesz - (vaddr - ph.p_vaddr);
        if (off > im->rawlen || im->rawlen - off < len)
            return -1;
        *p = im->raw + off;
        *n = (size_t)len;
        return 0;
    }
    return -1;
}

/* No .eh_frame section (section headers stripped): PT_GNU_EH_FRAME holds .eh_frame_hdr, which
 * says where .eh_frame starts; it runs at most to the end of its segment. */
static int from_phdrs(struct image *im, struct gp_cfi_section *s, struct gp_cfi_section *hdr,
                      int *have_hdr, struct gp_err *err)
{
    size_t nph;
    GElf_Phdr ph;
    int found = 0;
    if (elf_getphdrnum(im->elf, &nph) != 0)
        return 0;
    for (size_t i = 0; i < nph && !found; i++)
        found = gelf_getphdr(im->elf, (int)i, &ph) && ph.p_type == PT_GNU_EH_FRAME;
    if (!found || !im->raw || ph.p_offset > im->rawlen || im->rawlen - ph.p_offset < ph.p_filesz)
        return 0;
    hdr->data = im->raw + ph.p_offset;
    hdr->size = (size_t)ph.p_filesz;
    hdr->addr = hdr->data_base = ph.p_vaddr;
    hdr->name = ".eh_frame_hdr";
    uint64_t eh;
    int rc = gp_cfi_hdr_eh_frame(hdr, &eh, err);
    if (rc)
        return rc;
    if (segment_bytes(im, eh, &s->data, &s->size) != 0)
        return gp_err_set(err, -EINVAL,
                          ".eh_frame_hdr at address 0x%llx: .eh_frame pointer 0x%llx is outside "
                          "every loaded segment",
                          (unsigned long long)ph.p_vaddr, (unsigned long long)eh);
    s->addr = eh;
    s->name = ".eh_frame";
    *have_hdr = 1;
    return 1;
}

/* The CFI sections of the ELF in im: .eh_frame (+ .eh_frame_hdr) when debug is 0, else
 * .debug_frame. 1 found, 0 absent, <0 broken. */
static int cfi_sections(struct image *im, int debug, struct gp_cfi_section *s,
                        struct gp_cfi_section *hdr, int *have_hdr, struct gp_err *err)
{
    memset(s, 0, sizeof(*s));
    memset(hdr, 0, sizeof(*hdr));
    *have_hdr = 0;
    s->read_u64 = image_read_u64;
    s->read_ctx = im;
    if (debug) {
        int rc = section_bytes(im->elf, ".debug_frame", s, err);
        s->debug_frame = 1;
        s->addr = 0; /* .debug_frame is not loaded; its pointers are absolute */
        return rc;
    }
    int rc = section_bytes(im->elf, ".eh_frame", s, err);
    if (rc == 0)
        return from_phdrs(im, s, hdr, have_hdr, err);
    if (rc < 0)
        return rc;
    s->data_base = section_addr(im->elf, ".got.plt");
    if (!s->data_base)
        s->data_base = section_addr(im->elf, ".got");
    rc = section_bytes(im->elf, ".eh_frame_hdr", hdr, err);
    if (rc < 0)
        return rc;
    *have_hdr = rc;
    hdr->data_base = hdr->addr;
    return 1;
}

/* What a CFI reader makes of the sections: the table, or the FDE ranges. */
struct sink {
    struct gp_uw_table *t;
    struct gp_uw_range *r;
    size_t nr;
};

/* Reads the CFI of im (see cfi_sections) into k: 1 done, 0 no such CFI, <0 broken. */
static int from_cfi(struct image *im, int debug, struct sink *k, struct gp_err *err)
{
    struct gp_cfi_section s, hdr;
    int have_hdr;
    int rc = cfi_sections(im, debug, &s, &hdr, &have_hdr, err);
    if (rc <= 0)
        return rc;
    if (k->t)
        return (rc = gp_cfi_build(&s, have_hdr ? &hdr : NULL, k->t, err)) ? rc : 1;
    struct gp_cfi_fde *f = NULL;
    size_t n = 0;
    if ((rc = gp_cfi_fdes(&s, have_hdr ? &hdr : NULL, &f, &n, err)))
        return rc;
    k->r = malloc((n ? n : 1) * sizeof(*k->r));
    if (!k->r) {
        free(f);
        return gp_err_set(err, -ENOMEM, "out of memory reading FDEs");
    }
    k->nr = 0;
    for (size_t i = 0; i < n; i++) /* sorted by start; an overlapping FDE loses, as in tables */
        if (!k->nr || f[i].begin >= k->r[k->nr - 1].end)
            k->r[k->nr++] = (struct gp_uw_range){f[i].begin, f[i].end};
    free(f);
    if (!k->nr) {
        free(k->r);
        k->r = NULL;
    }
    return 1;
}

/* The binary's .eh_frame, else its own .debug_frame, else the .debug_frame of debug_path.
 * Sets *source (table.h's stats.source). */
static int read_cfi(int fd, const char *debug_path, struct sink *k, int *source, struct gp_err *err)
{
    struct image im = {0};
    int rc = open_elf(fd, &im, err, "the binary");
    if (rc)
        return rc;
    *source = 0;
    if ((rc = from_cfi(&im, 0, k, err)) > 0)
        *source = 1;
    else if (rc == 0 && (rc = from_cfi(&im, 1, k, err)) > 0)
        *source = 3;
    elf_end(im.elf);
    if (rc == 0 && debug_path) {
        int dfd = open(debug_path, O_RDONLY | O_CLOEXEC);
        if (dfd >= 0) {
            struct image dim = {0};
            rc = open_elf(dfd, &dim, err, debug_path);
            if (rc == 0) {
                if ((rc = from_cfi(&dim, 1, k, err)) > 0)
                    *source = 2;
                elf_end(dim.elf);
            }
            close(dfd);
            if (rc < 0)
                gp_err_prefix(err, "%s", debug_path);
        }
    }
    return rc < 0 ? rc : 0;
}

int gp_uw_table_build(int fd, const char *debug_path, struct gp_uw_table **out, struct gp_err *err)
{
    uint64_t t0 = cpu_ns();
    *out = NULL;
    struct gp_uw_table *t = calloc(1, sizeof(*t));
    if (!t)
        return gp_err_set(err, -ENOMEM, "out of memory building an unwind table");
    struct sink k = {.t = t};
    int source = 0;
    int rc = read_cfi(fd, debug_path, &k, &source, err);
    if (rc < 0) {
        free(t->e);
        free(t);
        return rc;
    }
    t->stats.source = source;
    t->stats.build_ns = cpu_ns() - t0;
    *out = t;
    return 0;
}

int gp_uw_fde_ranges(int fd, const char *debug_path, struct gp_uw_range **out, size_t *n,
                     struct gp_err *err)
{
    struct sink k = {0};
    int source;
    *out = NULL;
    *n = 0;
    int rc = read_cfi(fd, debug_path, &k, &source, err);
    if (rc < 0) {
        free(k.r);
        return rc;
    }
    *out = k.r;
    *n = k.nr;
    return 0;
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
