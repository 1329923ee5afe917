/* cfi.c — DWARF CFI decoding and the CFA-rule interpreter (see cfi.h). Every read is bounded
 * by its record; malformed input is -EINVAL naming the section and offset.
 * Why ~1,000 lines in one file: the interpreter reads its instructions through the decoder's
 * bounded cursor and CIE cache; split, both would be exported only to each other. */
#include "agent/unwind/cfi.h"
#include "common/memhint.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* DW_EH_PE_* pointer encodings */
#define PE_OMIT      0xff
#define PE_INDIRECT  0x80
#define PE_APPL_MASK 0x70
#define PE_FMT_MASK  0x0f
#define PE_PCREL     0x10
#define PE_DATAREL   0x30
#define PE_ALIGNED   0x50

#define REG_RBP     6
#define REG_RSP     7
#define STATE_STACK 32 /* DW_CFA_remember_state nesting we accept */

struct cur {
    const uint8_t *p, *end;
    const struct gp_cfi_section *s;
};

static size_t cur_off(const struct cur *c)
{
    return (size_t)(c->p - c->s->data);
}

static int bad(const struct cur *c, struct gp_err *err, const char *what)
{
    return gp_err_set(err, -EINVAL, "%s at offset 0x%zx: %s", c->s->name, cur_off(c), what);
}

static int rd(struct cur *c, void *out, size_t n)
{
    if ((size_t)(c->end - c->p) < n)
        return -1;
    memcpy(out, c->p, n);
    c->p += n;
    return 0;
}

static int rd_u8(struct cur *c, uint8_t *v)
{
    return rd(c, v, 1);
}

static int uleb(struct cur *c, uint64_t *v)
{
    uint64_t r = 0;
    unsigned sh = 0;
    while (c->p < c->end) {
        uint8_t b = *c->p++;
        if (sh < 64)
            r |= (uint64_t)(b & 0x7f) << sh;
        sh += 7;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

static int sleb(struct cur *c, int64_t *v)
{
    uint64_t r = 0;
    unsigned sh = 0;
    while (c->p < c->end) {
        uint8_t b = *c->p++;
        if (sh < 64)
            r |= (uint64_t)(b & 0x7f) << sh;
        sh += 7;
        if (!(b & 0x80)) {
            if (sh < 64 && (b & 0x40))
                r |= ~(uint64_t)0 << sh;
            *v = (int64_t)r;
            return 0;
        }
    }
    return -1;
}

/* Reads a pointer of encoding enc; asz is the size of an absptr (8, or 4 in a 32-bit
 * .debug_frame). deref = 0 skips DW_EH_PE_indirect's load (a personality we only skip). */
static int read_ptr(struct cur *c, uint8_t enc, uint8_t asz, int deref, uint64_t *out,
                    struct gp_err *err)
{
    if (enc == PE_OMIT) {
        *out = 0;
        return 0;
    }
    uint64_t base = 0;
    switch (enc & PE_APPL_MASK) {
    case 0:
        break;
    case PE_PCREL:
        base = c->s->addr + cur_off(c);
        break;
    case PE_DATAREL:
        if (!c->s->data_base)
            return bad(c, err, "data-relative pointer (DW_EH_PE_datarel) without a data base");
        base = c->s->data_base;
        break;
    case PE_ALIGNED: {
        uint64_t a = c->s->addr + cur_off(c);
        uint64_t pad = (asz - (a % asz)) % asz;
        if ((uint64_t)(c->end - c->p) < pad)
            return bad(c, err, "truncated aligned pointer");
        c->p += pad;
        break;
    }
    default:
        return bad(c, err, "pointer encoding not supported (textrel/funcrel)");
    }
    uint64_t v = 0;
    int rc = 0;
    switch (enc & PE_FMT_MASK) {
    case 0x00: /* absptr */
        if (asz == 4) {
            uint32_t x = 0;
            rc = rd(c, &x, 4);
            v = x;
        } else {
            rc = rd(c, &v, 8);
        }
        break;
    case 0x01:
        rc = uleb(c, &v);
        break;
    case 0x02: {
        uint16_t x = 0;
        rc = rd(c, &x, 2);
        v = x;
        break;
    }
    case 0x03: {
        uint32_t x = 0;
        rc = rd(c, &x, 4);
        v = x;
        break;
    }
    case 0x04:
    case 0x0c:
        rc = rd(c, &v, 8);
        break;
    case 0x09: {
        int64_t x = 0;
        rc = sleb(c, &x);
        v = (uint64_t)x;
        break;
    }
    case 0x0a: {
        int16_t x = 0;
        rc = rd(c, &x, 2);
        v = (uint64_t)(int64_t)x;
        break;
    }
    case 0x0b: {
        int32_t x = 0;
        rc = rd(c, &x, 4);
        v = (uint64_t)(int64_t)x;
        break;
    }
    default:
        return bad(c, err, "unknown pointer encoding");
    }
    if (rc)
        return bad(c, err, "truncated pointer");
    v += base;
    if ((enc & PE_INDIRECT) && deref) {
        if (!c->s->read_u64 || c->s->read_u64(c->s->read_ctx, v, &v) != 0)
            return bad(c, err, "indirect pointer (DW_EH_PE_indirect) to an unreadable address");
    }
    *out = v;
    return 0;
}

/* A record's header: length (32- or 64-bit format) and id/CIE-pointer field. */
struct rec {
    size_t off;    /* of the length field */
    size_t id_off; /* of the id field */
    size_t end;    /* offset past the record */
    uint64_t id;   /* CIE id or CIE pointer */
    int is64, is_cie;
};

/* Reads the header of the record at off. Returns 1 at a terminator (length 0 or no room). */
static int read_rec(const struct gp_cfi_section *s, size_t off, struct rec *r, struct gp_err *err)
{
    struct cur c = {s->data + off, s->data + s->size, s};
    uint32_t l32;
    if (off > s->size || rd(&c, &l32, 4))
        return 1;
    if (l32 == 0)
        return 1;
    uint64_t len = l32;
    r->is64 = l32 == 0xffffffffu;
    if (r->is64 && rd(&c, &len, 8))
        return bad(&c, err, "truncated 64-bit record length");
    if (len > (uint64_t)(c.end - c.p))
        return bad(&c, err, "record length runs past the end of the section");
    r->off = off;
    r->id_off = cur_off(&c);
    r->end = r->id_off + (size_t)len;
    c.end = s->data + r->end;
    if (r->is64) {
        if (rd(&c, &r->id, 8))
            return bad(&c, err, "record too short for its CIE id");
    } else {
        uint32_t id;
        if (rd(&c, &id, 4))
            return bad(&c, err, "record too short for its CIE id");
        r->id = id;
    }
    if (s->debug_frame)
        r->is_cie = r->is64 ? r->id == ~(uint64_t)0 : r->id == 0xffffffffu;
    else
        r->is_cie = r->id == 0;
    return 0;
}

struct cie {
    size_t off;
    int valid;
    uint64_t code_align, ra_reg;
    int64_t data_align;
    uint8_t fde_enc, asz, has_z, signal;
    const uint8_t *ins, *ins_end;
};

#define CIE_CACHE 16
struct ctx {
    const struct gp_cfi_section *s;
    struct gp_err *err;
    struct cie cache[CIE_CACHE];
    unsigned next;
};

static int parse_cie(struct ctx *x, size_t off, struct cie *cie)
{
    const struct gp_cfi_section *s = x->s;
    struct rec r;
    struct cur c = {s->data + (off < s->size ? off : s->size), s->data + s->size, s};
    int rc = read_rec(s, off, &r, x->err);
    if (rc < 0)
        return rc;
    if (rc > 0 || !r.is_cie)
        return bad(&c, x->err, "CIE pointer does not point at a CIE");
    memset(cie, 0, sizeof(*cie));
    cie->off = off;
    cie->asz = 8;
    c.p = s->data + r.id_off + (r.is64 ? 8 : 4);
    c.end = s->data + r.end;
    uint8_t ver;
    if (rd_u8(&c, &ver))
        return bad(&c, x->err, "truncated CIE");
    if (ver != 1 && ver != 3 && !(s->debug_frame && ver == 4))
        return bad(&c, x->err, "unsupported CIE version");
    const char *aug = (const char *)c.p;
    const uint8_t *nul = memchr(c.p, 0, (size_t)(c.end - c.p));
    if (!nul)
        return bad(&c, x->err, "unterminated CIE augmentation string");
    c.p = nul + 1;
    if (ver == 4) {
        uint8_t asz, seg;
        if (rd_u8(&c, &asz) || rd_u8(&c, &seg))
            return bad(&c, x->err, "truncated CIE");
        if ((asz != 4 && asz != 8) || seg != 0)
            return bad(&c, x->err, "unsupported address or segment selector size");
        cie->asz = asz;
    }
    if (aug[0] && aug[0] != 'z' && strcmp(aug, "S") != 0) /* gas writes "S" in .debug_frame */
        return bad(&c, x->err, "unsupported CIE augmentation (not 'z...')");
    cie->signal = aug[0] == 'S';
    if (uleb(&c, &cie->code_align) || sleb(&c, &cie->data_align))
        return bad(&c, x->err, "truncated CIE alignment factors");
    if (ver == 1) {
        uint8_t ra;
        if (rd_u8(&c, &ra))
            return bad(&c, x->err, "truncated CIE");
        cie->ra_reg = ra;
    } else if (uleb(&c, &cie->ra_reg)) {
        return bad(&c, x->err, "truncated CIE");
    }
    cie->fde_enc = 0;
    if (aug[0] == 'z') {
        uint64_t alen;
        if (uleb(&c, &alen) || alen > (uint64_t)(c.end - c.p))
            return bad(&c, x->err, "CIE augmentation data runs past the record");
        struct cur a = {c.p, c.p + alen, s};
        cie->has_z = 1;
        for (const char *q = aug + 1; *q; q++) {
            uint8_t enc;
            uint64_t ignored;
            int stop = 0;
            switch (*q) {
            case 'R':
                if (rd_u8(&a, &cie->fde_enc))
                    return bad(&a, x->err, "truncated CIE augmentation data");
                break;
            case 'L':
                if (rd_u8(&a, &enc))
                    return bad(&a, x->err, "truncated CIE augmentation data");
                break;
            case 'P':
                if (rd_u8(&a, &enc))
                    return bad(&a, x->err, "truncated CIE augmentation data");
                rc = read_ptr(&a, enc, cie->asz, 0, &ignored, x->err);
                if (rc)
                    return rc;
                break;
            case 'S':
                cie->signal = 1;
                break;
            case 'B': /* AArch64 BTI, MTE: no data */
            case 'G':
                break;
            default:
                stop = 1; /* unknown letter: 'z' lets us skip the rest */
            }
            if (stop)
                break;
        }
        c.p += alen;
    }
    cie->ins = c.p;
    cie->ins_end = c.end;
    cie->valid = 1;
    return 0;
}

static int get_cie(struct ctx *x, size_t off, const struct cie **out)
{
    for (unsigned i = 0; i < CIE_CACHE; i++)
        if (x->cache[i].valid && x->cache[i].off == off) {
            *out = &x->cache[i];
            return 0;
        }
    struct cie *slot = &x->cache[x->next++ % CIE_CACHE];
    slot->valid = 0;
    int rc = parse_cie(x, off, slot);
    if (rc)
        return rc;
    *out = slot;
    return 0;
}

/* Decodes the FDE whose record is r: range, CIE and instructions. */
static int parse_fde(struct ctx *x, const struct rec *r, struct gp_cfi_fde *f,
                     const struct cie **cie, const uint8_t **ins, const uint8_t **ins_end)
{
    const struct gp_cfi_section *s = x->s;
    struct cur c = {s->data + r->id_off, s->data + r->end, s};
    uint64_t cie_off;
    if (s->debug_frame) {
        cie_off = r->id;
    } else {
        if (r->id > r->id_off)
            return bad(&c, x->err, "CIE pointer points before the section");
        cie_off = r->id_off - r->id;
    }
    if (cie_off >= s->size)
        return bad(&c, x->err, "CIE pointer points past the section");
    int rc = get_cie(x, (size_t)cie_off, cie);
    if (rc)
        return rc;
    c.p += r->is64 ? 8 : 4;
    uint64_t begin, range;
    rc = read_ptr(&c, (*cie)->fde_enc, (*cie)->asz, 1, &begin, x->err);
    if (rc)
        return rc;
    rc = read_ptr(&c, (*cie)->fde_enc & PE_FMT_MASK, (*cie)->asz, 0, &range, x->err);
    if (rc)
        return rc;
    if (begin + range < begin)
        return bad(&c, x->err, "FDE address range wraps around");
    if ((*cie)->has_z) {
        uint64_t alen;
        if (uleb(&c, &alen) || alen > (uint64_t)(c.end - c.p))
            return bad(&c, x->err, "FDE augmentation data runs past the record");
        c.p += alen;
    }
    f->begin = begin;
    f->end = begin + range;
    f->off = r->off;
    *ins = c.p;
    *ins_end = c.end;
    return 0;
}

static int push_fde(struct gp_cfi_fde **v, size_t *n, size_t *cap, const struct gp_cfi_fde *f,
                    struct gp_err *err)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        struct gp_cfi_fde *nv = realloc(*v, nc * sizeof(*nv));
        if (!nv)
            return gp_err_set(err, -ENOMEM, "out of memory reading FDEs");
        /* a large block is a fresh mmap: its pages mapped in one call, not one fault each */
        gp_mem_populate(nv, *cap * sizeof(*nv), nc * sizeof(*nv));
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = *f;
    return 0;
}

static int scan(struct ctx *x, struct gp_cfi_fde **fdes, size_t *n)
{
    const struct gp_cfi_section *s = x->s;
    size_t cap = 0, off = 0;
    *fdes = NULL;
    *n = 0;
    while (off < s->size) {
        struct rec r;
        int rc = read_rec(s, off, &r, x->err);
        if (rc > 0)
            break;
        if (rc < 0)
            goto fail;
        if (!r.is_cie) {
            struct gp_cfi_fde f;
            const struct cie *cie;
            const uint8_t *ins, *ins_end;
            rc = parse_fde(x, &r, &f, &cie, &ins, &ins_end);
            if (rc == 0 && f.end > f.begin)
                rc = push_fde(fdes, n, &cap, &f, x->err);
            if (rc)
                goto fail;
        }
        off = r.end;
        continue;
    fail:
        free(*fdes);
        *fdes = NULL;
        *n = 0;
        return rc;
    }
    return 0;
}

int gp_cfi_scan(const struct gp_cfi_section *s, struct gp_cfi_fde **fdes, size_t *n,
                struct gp_err *err)
{
    struct ctx x = {.s = s, .err = err};
    return scan(&x, fdes, n);
}

/* .eh_frame_hdr: version, eh_frame_ptr_enc, fde_count_enc, table_enc, eh_frame_ptr, fde_count,
 * then fde_count (initial location, FDE address) pairs sorted by location. -ENOENT when it has
 * no table (the caller scans .eh_frame). */
static int hdr_fdes(struct ctx *x, const struct gp_cfi_section *hdr, struct gp_cfi_fde **fdes,
                    size_t *n)
{
    struct cur c = {hdr->data, hdr->data + hdr->size, hdr};
    uint8_t ver, pe, ce, te;
    *fdes = NULL;
    *n = 0;
    if (rd_u8(&c, &ver) || rd_u8(&c, &pe) || rd_u8(&c, &ce) || rd_u8(&c, &te))
        return bad(&c, x->err, "truncated header");
    if (ver != 1)
        return bad(&c, x->err, "unsupported .eh_frame_hdr version");
    uint64_t ehp, count;
    int rc = read_ptr(&c, pe, 8, 0, &ehp, x->err);
    if (rc)
        return rc;
    if (ce == PE_OMIT || te == PE_OMIT)
        return -ENOENT;
    if ((rc = read_ptr(&c, ce, 8, 0, &count, x->err)))
        return rc;
    if (count > (uint64_t)(c.end - c.p) / 2)
        return bad(&c, x->err, "FDE count larger than the table");
    size_t cap = (size_t)count; /* one block, mapped at once */
    if (count && !(*fdes = malloc(cap * sizeof(**fdes))))
        return gp_err_set(x->err, -ENOMEM, "out of memory reading FDEs");
    if (count)
        gp_mem_populate(*fdes, 0, cap * sizeof(**fdes));
    for (uint64_t i = 0; i < count; i++) {
        uint64_t loc, addr;
        if ((rc = read_ptr(&c, te, 8, 0, &loc, x->err)) ||
            (rc = read_ptr(&c, te, 8, 0, &addr, x->err)))
            goto fail;
        if (addr < x->s->addr || addr - x->s->addr >= x->s->size) {
            rc = bad(&c, x->err, "table entry points outside .eh_frame");
            goto fail;
        }
        struct rec r;
        rc = read_rec(x->s, (size_t)(addr - x->s->addr), &r, x->err);
        if (rc > 0 || (rc == 0 && r.is_cie)) {
            rc = bad(&c, x->err, "table entry does not point at an FDE");
            goto fail;
        }
        if (rc)
            goto fail;
        struct gp_cfi_fde f;
        const struct cie *cie;
        const uint8_t *ins, *ins_end;
        if ((rc = parse_fde(x, &r, &f, &cie, &ins, &ins_end)))
            goto fail;
        if (f.end > f.begin && (rc = push_fde(fdes, n, &cap, &f, x->err)))
            goto fail;
    }
    return 0;
fail:
    free(*fdes);
    *fdes = NULL;
    *n = 0;
    return rc;
}

int gp_cfi_hdr_eh_frame(const struct gp_cfi_section *hdr, uint64_t *addr, struct gp_err *err)
{
    struct cur c = {hdr->data, hdr->data + hdr->size, hdr};
    uint8_t ver, pe, ce, te;
    if (rd_u8(&c, &ver) || rd_u8(&c, &pe) || rd_u8(&c, &ce) || rd_u8(&c, &te))
        return bad(&c, err, "truncated header");
    if (ver != 1)
        return bad(&c, err, "unsupported .eh_frame_hdr version");
    return read_ptr(&c, pe, 8, 0, addr, err);
}

int gp_cfi_hdr_fdes(const struct gp_cfi_section *hdr, const struct gp_cfi_section *eh,
                    struct gp_cfi_fde **fdes, size_t *n, struct gp_err *err)
{
    struct ctx x = {.s = eh, .err = err};
    return hdr_fdes(&x, hdr, fdes, n);
}

/* ---- the interpreter ---- */

enum { RK_NONE, RK_UNDEF, RK_SAME, RK_OFF, RK_OTHER };
enum { CK_REG, CK_PLT, CK_OTHER };

struct reg {
    uint8_t k;
    int64_t off;
};

struct st {
    uint8_t ck;
    uint64_t creg;
    int64_t coff;
    struct reg rbp, ra;
};

/* The expression binutils and glibc emit for a 16-byte-entry .plt: DW_OP_breg7 (rsp) 8;
 * DW_OP_breg16 (rip) 0; DW_OP_lit15; DW_OP_and; DW_OP_lit11; DW_OP_ge; DW_OP_lit3; DW_OP_shl;
 * DW_OP_plus. */
static const uint8_t plt_expr[] = {0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a,
                                   0x3b, 0x2a, 0x33, 0x24, 0x22};
#define PLT_CFA_OFF 8

static struct gp_uw_rule rule_of(const struct cie *cie, const struct st *s)
{
    struct gp_uw_rule r = {0};
    if (cie->signal) {
        r.cfa = GP_UW_SIGNAL;
        return r;
    }
    if (s->ra.k == RK_UNDEF) {
        r.cfa = GP_UW_END;
        return r;
    }
    r.cfa = GP_UW_UNKNOWN;
    if (s->ra.k != RK_NONE && !(s->ra.k == RK_OFF && s->ra.off == -8))
        return r;
    if (s->rbp.k == RK_OTHER)
        return r;
    if (s->rbp.k == RK_OFF && (s->rbp.off < INT16_MIN || s->rbp.off > INT16_MAX || s->rbp.off == 0))
        return r;
    int16_t fp = s->rbp.k == RK_OFF ? (int16_t)s->rbp.off : 0;
    if (s->ck == CK_PLT) {
        r.cfa = GP_UW_CFA_PLT;
        r.cfa_off = PLT_CFA_OFF;
        r.fp_off = fp;
        return r;
    }
    if (s->ck != CK_REG || (s->creg != REG_RSP && s->creg != REG_RBP) || s->coff < INT16_MIN ||
        s->coff > INT16_MAX)
        return r;
    r.cfa = s->creg == REG_RSP ? GP_UW_CFA_SP : GP_UW_CFA_FP;
    r.cfa_off = (int16_t)s->coff;
    r.fp_off = fp;
    return r;
}

static bool rule_eq(const struct gp_uw_rule *a, const struct gp_uw_rule *b)
{
    return a->cfa == b->cfa && a->cfa_off == b->cfa_off && a->fp_off == b->fp_off;
}

struct rows {
    struct gp_uw_entry *e;
    size_t n, cap;
    size_t hint;    /* first capacity: rows expected */
    size_t unknown; /* rows whose rule is GP_UW_UNKNOWN (counted as written: no second pass) */
    int oom;
};

static void row_append(struct rows *rw, uint64_t pc, struct gp_uw_rule rule, uint8_t flags)
{
    if (rw->n == rw->cap) {
        size_t nc = rw->cap ? rw->cap * 2 : rw->hint > 1024 ? rw->hint : 1024;
        struct gp_uw_entry *ne = realloc(rw->e, nc * sizeof(*ne));
        if (!ne) {
            rw->oom = 1;
            return;
        }
        gp_mem_populate(ne, rw->cap * sizeof(*ne), nc * sizeof(*ne));
        rw->e = ne;
        rw->cap = nc;
    }
    rw->e[rw->n++] = (struct gp_uw_entry){.pc = pc, .rule = rule, .flags = flags};
    rw->unknown += rule.cfa == GP_UW_UNKNOWN;
}

/* The FDE being interpreted: rows go to rw from index first on. */
struct fde_run {
    struct rows *rw;
    size_t first;
    uint64_t begin, end;
};

static void emit(struct fde_run *fr, const struct cie *cie, uint64_t pc, const struct st *s)
{
    struct rows *rw = fr->rw;
    if (pc >= fr->end)
        return;
    struct gp_uw_rule rule = rule_of(cie, s);
    if (rw->n > fr->first && rw->e[rw->n - 1].pc == pc) {
        rw->unknown -= rw->e[rw->n - 1].rule.cfa == GP_UW_UNKNOWN;
        rw->unknown += rule.cfa == GP_UW_UNKNOWN;
        rw->e[rw->n - 1].rule = rule; /* advance by 0: the later rule wins */
        if (rw->n - 1 > fr->first && rule_eq(&rw->e[rw->n - 2].rule, &rule)) {
            rw->unknown -= rule.cfa == GP_UW_UNKNOWN;
            rw->n--;
        }
        return;
    }
    if (rw->n > fr->first && rule_eq(&rw->e[rw->n - 1].rule, &rule))
        return;
    row_append(rw, pc, rule, pc == fr->begin ? GP_UW_F_FUNC_START : 0);
}

static void set_reg(struct st *s, const struct cie *cie, uint64_t reg, uint8_t k, int64_t off)
{
    struct reg v = {k, off};
    if (reg == REG_RBP)
        s->rbp = v;
    else if (reg == cie->ra_reg)
        s->ra = v;
}

static void restore_reg(struct st *s, const struct st *init, const struct cie *cie, uint64_t reg)
{
    if (reg == REG_RBP)
        s->rbp = init->rbp;
    else if (reg == cie->ra_reg)
        s->ra = init->ra;
}

static int64_t scaled(uint64_t v, int64_t f)
{
    return (int64_t)(v * (uint64_t)f);
}

/* Runs CFA instructions [p, end) on *s. fr NULL: a CIE's initial instructions (no advancing);
 * else rows are emitted into fr as the location advances. */
static int run(struct ctx *x, const struct cie *cie, const uint8_t *p, const uint8_t *end,
               struct st *s, const struct st *init, struct fde_run *fr)
{
    struct cur c = {p, end, x->s};
    struct st stack[STATE_STACK];
    unsigned depth = 0;
    uint64_t loc = fr ? fr->begin : 0;
    while (c.p < c.end) {
        const uint8_t *at = c.p;
        uint8_t op = *c.p++;
        uint64_t a = 0, b = 0, delta = 0;
        int64_t sv = 0;
        int adv = 0;
        switch (op & 0xc0) {
        case 0x40:
            delta = op & 0x3f;
            adv = 1;
            goto advance;
        case 0x80:
            if (uleb(&c, &a))
                goto trunc;
            set_reg(s, cie, op & 0x3f, RK_OFF, scaled(a, cie->data_align));
            continue;
        case 0xc0:
            restore_reg(s, init, cie, op & 0x3f);
            continue;
        }
        switch (op) {
        case 0x00: /* nop */
            continue;
        case 0x01: { /* set_loc */
            uint64_t nl;
            int rc = read_ptr(&c, cie->fde_enc, cie->asz, 1, &nl, x->err);
            if (rc)
                return rc;
            if (!fr)
                goto in_cie;
            if (nl < loc) {
                c.p = at;
                return bad(&c, x->err, "DW_CFA_set_loc moves backwards");
            }
            if (fr)
                emit(fr, cie, loc, s);
            loc = nl;
            continue;
        }
        case 0x02: {
            uint8_t d;
            if (rd_u8(&c, &d))
                goto trunc;
            delta = d;
            adv = 1;
            goto advance;
        }
        case 0x03: {
            uint16_t d;
            if (rd(&c, &d, 2))
                goto trunc;
            delta = d;
            adv = 1;
            goto advance;
        }
        case 0x04: {
            uint32_t d;
            if (rd(&c, &d, 4))
                goto trunc;
            delta = d;
            adv = 1;
            goto advance;
        }
        case 0x05: /* offset_extended */
            if (uleb(&c, &a) || uleb(&c, &b))
                goto trunc;
            set_reg(s, cie, a, RK_OFF, scaled(b, cie->data_align));
            continue;
        case 0x06: /* restore_extended */
            if (uleb(&c, &a))
                goto trunc;
            restore_reg(s, init, cie, a);
            continue;
        case 0x07: /* undefined */
            if (uleb(&c, &a))
                goto trunc;
            set_reg(s, cie, a, RK_UNDEF, 0);
            continue;
        case 0x08: /* same_value */
            if (uleb(&c, &a))
                goto trunc;
            set_reg(s, cie, a, RK_SAME, 0);
            continue;
        case 0x09: /* register */
            if (uleb(&c, &a) || uleb(&c, &b))
                goto trunc;
            set_reg(s, cie, a, RK_OTHER, 0);
            continue;
        case 0x0a: /* remember_state */
            if (depth == STATE_STACK) {
                c.p = at;
                return bad(&c, x->err, "DW_CFA_remember_state nested too deep");
            }
            stack[depth++] = *s;
            continue;
        case 0x0b: /* restore_state */
            if (depth == 0) {
                c.p = at;
                return bad(&c, x->err, "DW_CFA_restore_state without remember_state");
            }
            *s = stack[--depth];
            continue;
        case 0x0c: /* def_cfa */
            if (uleb(&c, &a) || uleb(&c, &b))
                goto trunc;
            s->ck = CK_REG;
            s->creg = a;
            s->coff = (int64_t)b;
            continue;
        case 0x0d: /* def_cfa_register */
            if (uleb(&c, &a))
                goto trunc;
            if (s->ck == CK_REG)
                s->creg = a;
            else
                s->ck = CK_OTHER;
            continue;
        case 0x0e: /* def_cfa_offset */
            if (uleb(&c, &a))
                goto trunc;
            if (s->ck == CK_REG)
                s->coff = (int64_t)a;
            else
                s->ck = CK_OTHER;
            continue;
        case 0x0f: /* def_cfa_expression */
            if (uleb(&c, &a) || a > (uint64_t)(c.end - c.p))
                goto trunc;
            s->ck = a == sizeof(plt_expr) && memcmp(c.p, plt_expr, sizeof(plt_expr)) == 0
                            ? CK_PLT
                            : CK_OTHER;
            c.p += a;
            continue;
        case 0x10: /* expression */
        case 0x16: /* val_expression */
            if (uleb(&c, &a) || uleb(&c, &b) || b > (uint64_t)(c.end - c.p))
                goto trunc;
            set_reg(s, cie, a, RK_OTHER, 0);
            c.p += b;
            continue;
        case 0x11: /* offset_extended_sf */
            if (uleb(&c, &a) || sleb(&c, &sv))
                goto trunc;
            set_reg(s, cie, a, RK_OFF, scaled((uint64_t)sv, cie->data_align));
            continue;
        case 0x12: /* def_cfa_sf */
            if (uleb(&c, &a) || sleb(&c, &sv))
                goto trunc;
            s->ck = CK_REG;
            s->creg = a;
            s->coff = scaled((uint64_t)sv, cie->data_align);
            continue;
        case 0x13: /* def_cfa_offset_sf */
            if (sleb(&c, &sv))
                goto trunc;
            if (s->ck == CK_REG)
                s->coff = scaled((uint64_t)sv, cie->data_align);
            else
                s->ck = CK_OTHER;
            continue;
        case 0x14: /* val_offset */
            if (uleb(&c, &a) || uleb(&c, &b))
                goto trunc;
            set_reg(s, cie, a, RK_OTHER, 0);
            continue;
        case 0x15: /* val_offset_sf */
            if (uleb(&c, &a) || sleb(&c, &sv))
                goto trunc;
            set_reg(s, cie, a, RK_OTHER, 0);
            continue;
        case 0x2e: /* GNU_args_size */
            if (uleb(&c, &a))
                goto trunc;
            continue;
        case 0x2f: /* GNU_negative_offset_extended */
            if (uleb(&c, &a) || uleb(&c, &b))
                goto trunc;
            set_reg(s, cie, a, RK_OFF, -scaled(b, cie->data_align));
            continue;
        default:
            c.p = at;
            return bad(&c, x->err, "unknown DW_CFA instruction");
        }
    advance:
        (void)adv;
        if (!fr)
            goto in_cie;
        emit(fr, cie, loc, s);
        if (__builtin_mul_overflow(delta, cie->code_align, &delta) ||
            __builtin_add_overflow(loc, delta, &loc))
            loc = UINT64_MAX;
        continue;
    trunc:
        c.p = at;
        return bad(&c, x->err, "truncated DW_CFA instruction");
    in_cie:
        c.p = at;
        return bad(&c, x->err, "location advance in a CIE's initial instructions");
    }
    if (fr)
        emit(fr, cie, loc, s);
    return 0;
}

static int fde_rows(struct ctx *x, const struct gp_cfi_fde *f, struct rows *rw)
{
    struct rec r;
    int rc = read_rec(x->s, f->off, &r, x->err);
    if (rc)
        return rc < 0 ? rc
                      : gp_err_set(x->err, -EINVAL, "%s at offset 0x%zx: FDE vanished", x->s->name,
                                   f->off);
    struct gp_cfi_fde g;
    const struct cie *cie;
    const uint8_t *ins, *ins_end;
    if ((rc = parse_fde(x, &r, &g, &cie, &ins, &ins_end)))
        return rc;
    struct cie cc = *cie; /* the cache may be reused while running */
    struct st init = {.ck = CK_OTHER};
    if ((rc = run(x, &cc, cc.ins, cc.ins_end, &init, &init, NULL)))
        return rc;
    struct st s = init;
    struct fde_run fr = {rw, rw->n, g.begin, g.end};
    return run(x, &cc, ins, ins_end, &s, &init, &fr);
}

static int fde_cmp(const void *a, const void *b)
{
    const struct gp_cfi_fde *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Every FDE, sorted by start (through hdr's table when given and usable, else a scan). */
static int sorted_fdes(struct ctx *x, const struct gp_cfi_section *hdr, struct gp_cfi_fde **fdes,
                       size_t *n)
{
    int rc = hdr ? hdr_fdes(x, hdr, fdes, n) : -ENOENT;
    if (rc == -ENOENT)
        rc = scan(x, fdes, n);
    if (rc)
        return rc;
    for (size_t i = 1; i < *n; i++)
        if (fde_cmp(&(*fdes)[i - 1], &(*fdes)[i]) > 0) {
            qsort(*fdes, *n, sizeof(**fdes), fde_cmp);
            break;
        }
    return 0;
}

int gp_cfi_fdes(const struct gp_cfi_section *s, const struct gp_cfi_section *hdr,
                struct gp_cfi_fde **fdes, size_t *n, struct gp_err *err)
{
    struct ctx *x = calloc(1, sizeof(*x));
    if (!x)
        return gp_err_set(err, -ENOMEM, "out of memory reading FDEs");
    x->s = s;
    x->err = err;
    int rc = sorted_fdes(x, hdr, fdes, n);
    free(x);
    return rc;
}

int gp_cfi_build(const struct gp_cfi_section *s, const struct gp_cfi_section *hdr,
                 struct gp_uw_table *t, struct gp_err *err)
{
    struct ctx *x = calloc(1, sizeof(*x));
    if (!x)
        return gp_err_set(err, -ENOMEM, "out of memory building an unwind table");
    x->s = s;
    x->err = err;
    t->e = NULL;
    t->n = 0;
    memset(&t->stats, 0, sizeof(t->stats));
    struct gp_cfi_fde *fdes = NULL;
    size_t n = 0;
    int rc = sorted_fdes(x, hdr, &fdes, &n);
    if (rc) {
        free(x);
        return rc;
    }
    struct rows rw = {.hint = n * 10}; /* ~8 rows an FDE in libc, ~12 in libpython */
    const struct gp_uw_rule none = {.cfa = GP_UW_NONE};
    uint64_t prev_end = 0;
    for (size_t i = 0; i < n && !rw.oom; i++) {
        const struct gp_cfi_fde *f = &fdes[i];
        if (rw.n && f->begin < prev_end)
            continue; /* overlaps the previous FDE: the first one wins */
        if (rw.n && prev_end < f->begin)
            row_append(&rw, prev_end, none, 0);
        if ((rc = fde_rows(x, f, &rw)))
            break;
        prev_end = f->end;
        t->stats.fdes++;
    }
    if (!rc && rw.n)
        row_append(&rw, prev_end, none, 0);
    free(fdes);
    free(x);
    if (!rc && rw.oom)
        rc = gp_err_set(err, -ENOMEM, "out of memory building an unwind table");
    if (rc) {
        free(rw.e);
        t->stats.fdes = 0;
        return rc;
    }
    /* no shrink to the rows used: freeing the slack makes the next build fault fresh pages
     * (a warm build of libpython went from 2 to 10 ms); the slack is at most half the rows */
    t->e = rw.e;
    t->n = rw.n;
    t->stats.rows = rw.n;
    t->stats.unknown_rows = rw.unknown;
    return 0;
}
