/* test_unwind_table.c — unwind tables from CFI: the interpreter on hand-assembled .eh_frame
 * bytes (rules, remember/restore, gaps, FUNC_START, merging), garbage -> -EINVAL naming section
 * and offset, and the system libc (sorted rows, its PLT, __restore_rt as SIGNAL, clone as END). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/unwind/cfi.h"
#include "agent/unwind/table.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"

/* A small .eh_frame assembler: records are appended with their length fixed up. */
struct asmb {
    uint8_t b[4096];
    size_t n;
    uint64_t addr; /* section address */
};

static void put(struct asmb *a, const void *p, size_t n)
{
    assert_true(a->n + n <= sizeof(a->b));
    if (n)
        memcpy(a->b + a->n, p, n);
    a->n += n;
}
static void put8(struct asmb *a, uint8_t v)
{
    put(a, &v, 1);
}
static void put32(struct asmb *a, uint32_t v)
{
    put(a, &v, 4);
}

/* Opens a record; returns the offset of its length field. */
static size_t rec_open(struct asmb *a)
{
    size_t at = a->n;
    put32(a, 0);
    return at;
}
static void rec_close(struct asmb *a, size_t at)
{
    while ((a->n - at) % 8)
        put8(a, 0); /* DW_CFA_nop padding */
    uint32_t len = (uint32_t)(a->n - at - 4);
    memcpy(a->b + at, &len, 4);
}

/* CIE "zR", code 1, data -8, RA r16, FDE encoding pcrel|sdata4, initial CFA rsp+8, ra at c-8;
 * aug adds letters (e.g. "S"). */
static size_t cie(struct asmb *a, const char *extra)
{
    size_t at = rec_open(a);
    put32(a, 0);
    put8(a, 1);
    put(a, "zR", 2);
    put(a, extra, strlen(extra));
    put8(a, 0);
    put8(a, 1);    /* code align */
    put8(a, 0x78); /* data align -8 */
    put8(a, 16);   /* RA */
    put8(a, 1);    /* aug length */
    put8(a, 0x1b); /* pcrel | sdata4 */
    const uint8_t ins[] = {0x0c, 7, 8, 0x90, 1};
    put(a, ins, sizeof(ins));
    rec_close(a, at);
    return at;
}

static void fde(struct asmb *a, size_t cie_at, uint64_t begin, uint32_t len, const uint8_t *ins,
                size_t nins)
{
    size_t at = rec_open(a);
    put32(a, (uint32_t)(a->n - cie_at));
    int32_t rel = (int32_t)(begin - (a->addr + a->n));
    put(a, &rel, 4);
    put32(a, len);
    put8(a, 0); /* aug length */
    put(a, ins, nins);
    rec_close(a, at);
}

static struct gp_cfi_section sect(struct asmb *a)
{
    return (struct gp_cfi_section){
            .data = a->b, .size = a->n, .addr = a->addr, .name = ".eh_frame"};
}

static void want_row(const struct gp_uw_table *t, size_t i, uint64_t pc, int cfa, int cfa_off,
                     int fp_off, int flags)
{
    assert_true(i < t->n);
    assert_int_equal(t->e[i].pc, pc);
    assert_int_equal(t->e[i].rule.cfa, cfa);
    assert_int_equal(t->e[i].rule.cfa_off, cfa_off);
    assert_int_equal(t->e[i].rule.fp_off, fp_off);
    assert_int_equal(t->e[i].flags, flags);
}

static void test_interpreter_rules(void **state)
{
    (void)state;
    struct asmb a = {.addr = 0x1000};
    size_t c = cie(&a, "");
    /* push rbp; mov rbp,rsp; ...; leave-like epilogue inside remember/restore_state */
    const uint8_t f1[] = {0x41, 0x0e, 0x10, 0x86, 0x02, /* +1: CFA rsp+16, rbp at c-16 */
                          0x43, 0x0d, 0x06,             /* +3: CFA rbp+16 */
                          0x60, 0x0a, 0x0c, 0x07, 0x08,
                          0xc6,                    /* +0x20: remember; rsp+8; restore rbp */
                          0x41, 0x0b,              /* +1: restore_state */
                          0x42, 0x2e, 0x10, 0x00}; /* +2: args_size, nop: no change */
    fde(&a, c, 0x2000, 0x40, f1, sizeof(f1));
    /* a second function right after, starting with the same rule: still its own FUNC_START row */
    const uint8_t f2[] = {0x02, 0x10, 0x0e, 0x10}; /* advance_loc1 16; CFA rsp+16 */
    fde(&a, c, 0x2040, 0x20, f2, sizeof(f2));
    /* a gap, then _start-like: RA undefined */
    const uint8_t f3[] = {0x07, 0x10};
    fde(&a, c, 0x3000, 0x10, f3, sizeof(f3));
    size_t sc = cie(&a, "S");
    fde(&a, sc, 0x3010, 0x8, NULL, 0);
    /* CFA expression that is not the PLT's; then the PLT's */
    const uint8_t f5[] = {0x0f, 0x02, 0x77, 0x08, 0x44, 0x0f, 0x0b, 0x77, 0x08,
                          0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22};
    fde(&a, c, 0x4000, 0x20, f5, sizeof(f5));
    put32(&a, 0);

    struct gp_cfi_section s = sect(&a);
    struct gp_uw_table t = {0};
    struct gp_err err = {0};
    assert_int_equal(gp_cfi_build(&s, NULL, &t, &err), 0);
    want_row(&t, 0, 0x2000, GP_UW_CFA_SP, 8, 0, GP_UW_F_FUNC_START);
    want_row(&t, 1, 0x2001, GP_UW_CFA_SP, 16, -16, 0);
    want_row(&t, 2, 0x2004, GP_UW_CFA_FP, 16, -16, 0);
    want_row(&t, 3, 0x2024, GP_UW_CFA_SP, 8, 0, 0);
    want_row(&t, 4, 0x2025, GP_UW_CFA_FP, 16, -16, 0);
    want_row(&t, 5, 0x2040, GP_UW_CFA_SP, 8, 0, GP_UW_F_FUNC_START);
    want_row(&t, 6, 0x2050, GP_UW_CFA_SP, 16, 0, 0);
    want_row(&t, 7, 0x2060, GP_UW_NONE, 0, 0, 0);
    want_row(&t, 8, 0x3000, GP_UW_END, 0, 0, GP_UW_F_FUNC_START);
    want_row(&t, 9, 0x3010, GP_UW_SIGNAL, 0, 0, GP_UW_F_FUNC_START);
    want_row(&t, 10, 0x3018, GP_UW_NONE, 0, 0, 0);
    want_row(&t, 11, 0x4000, GP_UW_UNKNOWN, 0, 0, GP_UW_F_FUNC_START);
    want_row(&t, 12, 0x4004, GP_UW_CFA_PLT, 8, 0, 0);
    want_row(&t, 13, 0x4020, GP_UW_NONE, 0, 0, 0);
    assert_int_equal(t.n, 14);
    assert_int_equal(t.stats.fdes, 5);
    assert_int_equal(t.stats.unknown_rows, 1);

    assert_null(gp_uw_table_find(&t, 0x1fff));
    assert_int_equal(gp_uw_table_find(&t, 0x2000)->pc, 0x2000);
    assert_int_equal(gp_uw_table_find(&t, 0x2023)->pc, 0x2004);
    assert_int_equal(gp_uw_table_find(&t, 0x2fff)->rule.cfa, GP_UW_NONE);
    assert_int_equal(gp_uw_table_find(&t, 0x9999)->rule.cfa, GP_UW_NONE);
    uint64_t start = 0;
    assert_int_equal(gp_uw_table_func_start(&t, 0x2030, &start), 0);
    assert_int_equal(start, 0x2000);
    assert_int_equal(gp_uw_table_func_start(&t, 0x2055, &start), 0);
    assert_int_equal(start, 0x2040);
    assert_int_equal(gp_uw_table_func_start(&t, 0x2070, &start), -ENOENT);
    assert_int_equal(gp_uw_table_func_start(&t, 0x10, &start), -ENOENT);
    free(t.e);

    /* the same FDEs found through an .eh_frame_hdr table (pcrel section pointer, datarel
     * sdata4 table) give the same rows */
    struct asmb h = {.addr = 0x800};
    put8(&h, 1);
    put8(&h, 0x1b);
    put8(&h, 0x03);
    put8(&h, 0x3b);
    int32_t ehp = (int32_t)(a.addr - (h.addr + 4));
    put(&h, &ehp, 4);
    put32(&h, 0); /* count, patched below */
    uint32_t cnt = 0;
    for (size_t off = 0; off + 4 <= a.n;) { /* index every FDE (second word != 0) */
        uint32_t len, id;
        memcpy(&len, a.b + off, 4);
        if (!len)
            break;
        memcpy(&id, a.b + off + 4, 4);
        if (id) {
            int32_t pcrel;
            memcpy(&pcrel, a.b + off + 8, 4);
            int32_t loc = (int32_t)(a.addr + off + 8 + (uint64_t)(int64_t)pcrel - h.addr);
            int32_t fa = (int32_t)(a.addr + off - h.addr);
            put(&h, &loc, 4);
            put(&h, &fa, 4);
            cnt++;
        }
        off += 4 + len;
    }
    memcpy(h.b + 8, &cnt, 4);
    struct gp_cfi_section hs = {
            .data = h.b, .size = h.n, .addr = h.addr, .data_base = h.addr, .name = ".eh_frame_hdr"};
    struct gp_uw_table t2 = {0};
    assert_int_equal(gp_cfi_build(&s, &hs, &t2, &err), 0);
    assert_int_equal(t2.n, 14);
    want_row(&t2, 12, 0x4004, GP_UW_CFA_PLT, 8, 0, 0);
    free(t2.e);
}

static void test_garbage_is_einval(void **state)
{
    (void)state;
    struct asmb a = {.addr = 0x1000};
    size_t c = cie(&a, "");
    const uint8_t bad_op[] = {0x41, 0x3f}; /* 0x3f: no such DW_CFA instruction */
    fde(&a, c, 0x2000, 0x40, bad_op, sizeof(bad_op));
    struct gp_cfi_section s = sect(&a);
    struct gp_uw_table t = {0};
    struct gp_err err = {0};
    assert_int_equal(gp_cfi_build(&s, NULL, &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, ".eh_frame at offset 0x"));
    assert_non_null(strstr(err.msg, "unknown DW_CFA"));
    assert_null(t.e);

    /* a record longer than the section */
    struct asmb b = {.addr = 0x1000};
    put32(&b, 0x1000);
    put32(&b, 0);
    s = sect(&b);
    assert_int_equal(gp_cfi_build(&s, NULL, &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "offset 0x4"));
    /* an FDE whose CIE pointer points before the section */
    struct asmb d = {.addr = 0x1000};
    size_t at = rec_open(&d);
    put32(&d, 0x100);
    put32(&d, 0);
    put32(&d, 0);
    rec_close(&d, at);
    s = sect(&d);
    assert_int_equal(gp_cfi_build(&s, NULL, &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "CIE pointer"));
    /* unbalanced restore_state */
    struct asmb e = {.addr = 0x1000};
    c = cie(&e, "");
    const uint8_t unbal[] = {0x0b};
    fde(&e, c, 0x2000, 0x10, unbal, sizeof(unbal));
    s = sect(&e);
    assert_int_equal(gp_cfi_build(&s, NULL, &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "restore_state"));
}

/* The address of a symbol of libc's .symtab/.dynsym, or 0. */
static uint64_t libc_sym(const char *want)
{
    int fd = open(LIBC, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    uint64_t v = 0;
    Elf_Scn *scn = NULL;
    while (!v && (scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Sym sym;
            const char *n;
            if (gelf_getsym(d, (int)i, &sym) && (n = elf_strptr(elf, sh.sh_link, sym.st_name)) &&
                strcmp(n, want) == 0 && sym.st_value) {
                v = sym.st_value;
                break;
            }
        }
    }
    elf_end(elf);
    close(fd);
    return v;
}

/* The address of section `want` of the ELF at path, or 0. */
static uint64_t section_of(const char *path, const char *want)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    size_t shstrndx;
    uint64_t v = 0;
    Elf_Scn *scn = NULL;
    while (elf && elf_getshdrstrndx(elf, &shstrndx) == 0 && (scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        const char *n;
        if (gelf_getshdr(scn, &sh) && (n = elf_strptr(elf, shstrndx, sh.sh_name)) &&
            strcmp(n, want) == 0)
            v = sh.sh_addr;
    }
    if (elf)
        elf_end(elf);
    close(fd);
    return v;
}

static void test_system_libc(void **state)
{
    (void)state;
    int fd = open(LIBC, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        skip();
    struct gp_uw_table *t = NULL;
    struct gp_err err = {0};
    int rc = gp_uw_table_build(fd, NULL, &t, &err);
    close(fd);
    if (rc)
        fail_msg("%s", err.msg);
    assert_int_equal(t->stats.source, 1);
    assert_true(t->stats.fdes > 1000);
    assert_int_equal(t->stats.rows, t->n);
    assert_true(t->stats.unknown_rows < t->n / 100);
    for (size_t i = 1; i < t->n; i++) {
        assert_true(t->e[i - 1].pc < t->e[i].pc);
        if (!(t->e[i].flags & GP_UW_F_FUNC_START)) /* equal neighbours are merged */
            assert_false(t->e[i - 1].rule.cfa == t->e[i].rule.cfa &&
                         t->e[i - 1].rule.cfa_off == t->e[i].rule.cfa_off &&
                         t->e[i - 1].rule.fp_off == t->e[i].rule.fp_off);
    }
    assert_int_equal(t->e[t->n - 1].rule.cfa, GP_UW_NONE);

    /* .plt: the first 16 bytes push the GOT and jump; then the expression rule */
    uint64_t plt = section_of(LIBC, ".plt");
    assert_true(plt != 0);
    const struct gp_uw_entry *e = gp_uw_table_find(t, plt);
    assert_non_null(e);
    assert_int_equal(e->rule.cfa, GP_UW_CFA_SP);
    assert_int_equal(e->rule.cfa_off, 16);
    e = gp_uw_table_find(t, plt + 0x20);
    assert_int_equal(e->rule.cfa, GP_UW_CFA_PLT);
    assert_int_equal(e->rule.cfa_off, 8);

    /* __restore_rt: the signal trampoline (its FDE starts one byte early, on purpose) */
    uint64_t rt = libc_sym("__restore_rt");
    if (rt) {
        e = gp_uw_table_find(t, rt);
        assert_non_null(e);
        assert_int_equal(e->rule.cfa, GP_UW_SIGNAL);
    }
    /* clone's child marks the end of the stack: RA undefined */
    uint64_t cl = libc_sym("clone");
    if (!cl)
        cl = libc_sym("__clone");
    assert_true(cl != 0);
    int ends = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->e[i].pc >= cl && t->e[i].pc < cl + 0x80 && t->e[i].rule.cfa == GP_UW_END)
            ends++;
    assert_int_equal(ends, 1);

    /* every function starts at a FUNC_START row: malloc's start names any pc inside it */
    uint64_t m = libc_sym("malloc"), start = 0;
    assert_true(m != 0);
    assert_int_equal(gp_uw_table_func_start(t, m + 5, &start), 0);
    assert_int_equal(start, m);
    gp_uw_table_free(t);
}

/* ---- expected tables from `readelf --debug-dump=frames-interp` text ---- */

struct xfde {
    uint64_t begin, end, cie;
    struct gp_uw_entry *rows; /* parsed rows, flags unset */
    size_t n;
};

struct xcie {
    uint64_t off;
    int signal;
    struct gp_uw_rule init;
};

struct xparse {
    struct xfde *f;
    size_t nf;
    struct xcie c[256];
    size_t nc;
    int rbp_col, ra_col; /* token index of the current table's columns, -1 absent */
    int in_cie;
    uint64_t plt_lo, plt_hi; /* "exp" there is the PLT expression */
};

/* Splits a row into tokens; "r9 (r9)" is one token. */
static int tokens(char *line, char **tok, int max)
{
    int n = 0;
    for (char *p = strtok(line, " \t\n"); p; p = strtok(NULL, " \t\n")) {
        if (p[0] == '(' && n > 0)
            continue; /* "(r9)": the name of the register before it */
        if (n < max)
            tok[n++] = p;
    }
    return n;
}

static struct gp_uw_rule x_rule(const char *cfa, const char *rbp, const char *ra, uint64_t pc,
                                const struct xparse *xp)
{
    struct gp_uw_rule r = {.cfa = GP_UW_UNKNOWN};
    if (ra && strcmp(ra, "u") == 0) {
        r.cfa = GP_UW_END;
        return r;
    }
    if (ra && strcmp(ra, "c-8") != 0)
        return r;
    long fp = 0;
    if (rbp && rbp[0] == 'c' && (rbp[1] == '-' || rbp[1] == '+'))
        fp = strtol(rbp + 1, NULL, 10);
    else if (rbp && strcmp(rbp, "u") != 0 && strcmp(rbp, "s") != 0)
        return r;
    if (fp < INT16_MIN || fp > INT16_MAX)
        return r;
    if (strcmp(cfa, "exp") == 0) {
        if (pc >= xp->plt_lo && pc < xp->plt_hi) {
            r.cfa = GP_UW_CFA_PLT;
            r.cfa_off = 8;
            r.fp_off = (int16_t)fp;
        }
        return r;
    }
    long off;
    if (strncmp(cfa, "rsp", 3) == 0)
        r.cfa = GP_UW_CFA_SP;
    else if (strncmp(cfa, "rbp", 3) == 0)
        r.cfa = GP_UW_CFA_FP;
    else
        return r;
    off = strtol(cfa + 3, NULL, 10);
    if (off < INT16_MIN || off > INT16_MAX) {
        r.cfa = GP_UW_UNKNOWN;
        return r;
    }
    r.cfa_off = (int16_t)off;
    r.fp_off = (int16_t)fp;
    return r;
}

static void x_line(struct xparse *xp, char *line)
{
    unsigned long long off, len, id, cie, lo, hi;
    char aug[32];
    const char *q = strstr(line, " CIE \"");
    if (q && sscanf(line, "%llx %llx %llx", &off, &len, &id) == 3) {
        snprintf(aug, sizeof(aug), "%.*s", (int)strcspn(q + 6, "\""), q + 6);
        assert_true(xp->nc < 256);
        xp->c[xp->nc++] = (struct xcie){off, strchr(aug, 'S') != NULL, {.cfa = GP_UW_UNKNOWN}};
        xp->in_cie = 1;
        return;
    }
    if (sscanf(line, "%llx %llx %llx FDE cie=%llx pc=%llx..%llx", &off, &len, &id, &cie, &lo,
               &hi) == 6) {
        xp->f = realloc(xp->f, (xp->nf + 1) * sizeof(*xp->f));
        assert_non_null(xp->f);
        xp->f[xp->nf++] = (struct xfde){lo, hi, cie, NULL, 0};
        xp->in_cie = 0;
        return;
    }
    char *tok[64];
    if (strncmp(line, "   LOC", 6) == 0) {
        int n = tokens(line, tok, 64);
        xp->rbp_col = xp->ra_col = -1;
        for (int i = 0; i < n; i++) {
            if (strcmp(tok[i], "rbp") == 0)
                xp->rbp_col = i;
            if (strcmp(tok[i], "ra") == 0)
                xp->ra_col = i;
        }
        return;
    }
    size_t hex = strspn(line, "0123456789abcdef");
    if (hex != 16 || line[16] != ' ')
        return;
    int n = tokens(line, tok, 64);
    assert_true(n >= 2);
    uint64_t pc = strtoull(tok[0], NULL, 16);
    const char *rbp = xp->rbp_col >= 0 && xp->rbp_col < n ? tok[xp->rbp_col] : NULL;
    const char *ra = xp->ra_col >= 0 && xp->ra_col < n ? tok[xp->ra_col] : NULL;
    if (xp->in_cie) {
        xp->c[xp->nc - 1].init = x_rule(tok[1], rbp, ra, 0, xp);
        return;
    }
    struct xfde *f = &xp->f[xp->nf - 1];
    f->rows = realloc(f->rows, (f->n + 1) * sizeof(*f->rows));
    assert_non_null(f->rows);
    f->rows[f->n++] = (struct gp_uw_entry){.pc = pc, .rule = x_rule(tok[1], rbp, ra, pc, xp)};
}

static int xfde_cmp(const void *a, const void *b)
{
    const struct xfde *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int same_rule(const struct gp_uw_rule *a, const struct gp_uw_rule *b)
{
    return a->cfa == b->cfa && a->cfa_off == b->cfa_off && a->fp_off == b->fp_off;
}

/* The table readelf's text implies, laid out as table.h says. */
static void expected_table(FILE *in, uint64_t plt_lo, uint64_t plt_hi, struct gp_uw_table *t)
{
    struct xparse *xp = calloc(1, sizeof(*xp));
    assert_non_null(xp);
    xp->plt_lo = plt_lo;
    xp->plt_hi = plt_hi;
    char line[4096];
    while (fgets(line, sizeof(line), in))
        x_line(xp, line);
    qsort(xp->f, xp->nf, sizeof(*xp->f), xfde_cmp);
    size_t cap = 16, n = 0;
    struct gp_uw_entry *e = malloc(cap * sizeof(*e));
    uint64_t prev_end = 0;
    t->stats.fdes = 0;
#define ADD(pc_, rule_, flags_)                                                                    \
    do {                                                                                           \
        if (n == cap)                                                                              \
            e = realloc(e, (cap *= 2) * sizeof(*e));                                               \
        e[n++] = (struct gp_uw_entry){.pc = (pc_), .rule = (rule_), .flags = (flags_)};            \
    } while (0)
    for (size_t i = 0; i < xp->nf; i++) {
        struct xfde *f = &xp->f[i];
        if (f->end <= f->begin || (n && f->begin < prev_end))
            continue;
        const struct xcie *c = NULL;
        for (size_t k = 0; k < xp->nc; k++)
            if (xp->c[k].off == f->cie)
                c = &xp->c[k];
        assert_non_null(c);
        if (n && prev_end < f->begin)
            ADD(prev_end, ((struct gp_uw_rule){.cfa = GP_UW_NONE}), 0);
        size_t first = n;
        if (f->n == 0 || f->rows[0].pc != f->begin)
            ADD(f->begin, c->init, GP_UW_F_FUNC_START);
        for (size_t k = 0; k < f->n; k++) {
            if (f->rows[k].pc >= f->end)
                break;
            struct gp_uw_rule r = f->rows[k].rule;
            if (n > first && e[n - 1].pc == f->rows[k].pc) {
                e[n - 1].rule = r;
                continue;
            }
            if (n > first && same_rule(&e[n - 1].rule, &r))
                continue;
            uint8_t fl = n == first ? GP_UW_F_FUNC_START : 0;
            ADD(f->rows[k].pc, r, fl);
        }
        if (c->signal)
            for (size_t k = first; k < n; k++)
                e[k].rule = (struct gp_uw_rule){.cfa = GP_UW_SIGNAL};
        for (size_t k = first + 1; k < n;) { /* merge what became equal */
            if (same_rule(&e[k - 1].rule, &e[k].rule)) {
                memmove(&e[k], &e[k + 1], (n - k - 1) * sizeof(*e));
                n--;
            } else {
                k++;
            }
        }
        prev_end = f->end;
        t->stats.fdes++;
    }
    if (n)
        ADD(prev_end, ((struct gp_uw_rule){.cfa = GP_UW_NONE}), 0);
#undef ADD
    for (size_t i = 0; i < xp->nf; i++)
        free(xp->f[i].rows);
    free(xp->f);
    free(xp);
    t->e = e;
    t->n = n;
}

static void compare_tables(const struct gp_uw_table *want, const struct gp_uw_table *got)
{
    for (size_t i = 0; i < want->n && i < got->n; i++) {
        const struct gp_uw_entry *w = &want->e[i], *g = &got->e[i];
        if (w->pc != g->pc || !same_rule(&w->rule, &g->rule) || w->flags != g->flags)
            fail_msg("row %zu: want pc 0x%llx cfa %d%+d fp %d flags %d, got pc 0x%llx cfa %d%+d "
                     "fp %d flags %d",
                     i, (unsigned long long)w->pc, w->rule.cfa, w->rule.cfa_off, w->rule.fp_off,
                     w->flags, (unsigned long long)g->pc, g->rule.cfa, g->rule.cfa_off,
                     g->rule.fp_off, g->flags);
    }
    assert_int_equal(want->n, got->n);
    assert_int_equal(want->stats.fdes, got->stats.fdes);
}

static char *fixture(const char *name)
{
    const char *src = getenv("GPROF_SOURCE_DIR");
    static char path[3][4096];
    static int k;
    char *p = path[k++ % 3];
    snprintf(p, 4096, "%s/tests/fixtures/unwind/%s", src ? src : ".", name);
    return p;
}

static struct gp_uw_table *build_file(const char *path, const char *debug)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("%s: %s", path, strerror(errno));
    struct gp_uw_table *t = NULL;
    struct gp_err err = {0};
    int rc = gp_uw_table_build(fd, debug, &t, &err);
    close(fd);
    if (rc)
        fail_msg("%s: %s", path, err.msg);
    return t;
}

static void test_fixture_eh_frame(void **state)
{
    (void)state;
    struct gp_uw_table *t = build_file(fixture("uwfix.so"), NULL);
    FILE *f = fopen(fixture("uwfix.frames"), "r");
    assert_non_null(f);
    struct gp_uw_table want = {0};
    expected_table(f, 0x1000, 0x1080, &want); /* .plt of uwfix.so (readelf -S) */
    fclose(f);
    assert_int_equal(t->stats.source, 1);
    compare_tables(&want, t);
    free(want.e);
    /* the cases by name (addresses from uwfix.frames) */
    assert_int_equal(gp_uw_table_find(t, 0x1010)->rule.cfa, GP_UW_CFA_PLT);
    assert_int_equal(gp_uw_table_find(t, 0x1080)->rule.cfa, GP_UW_SIGNAL); /* uw_sigtramp - 1 */
    assert_int_equal(gp_uw_table_find(t, 0x108a)->rule.cfa, GP_UW_END);    /* uw_outermost */
    const struct gp_uw_entry *e = gp_uw_table_find(t, 0x10e4);             /* uw_vla */
    assert_int_equal(e->rule.cfa, GP_UW_CFA_FP);
    assert_int_equal(e->rule.cfa_off, 16);
    assert_int_equal(e->rule.fp_off, -16);
    e = gp_uw_table_find(t, 0x11e0); /* uw_branches after restore_state */
    assert_int_equal(e->rule.cfa, GP_UW_CFA_SP);
    assert_int_equal(e->rule.cfa_off, 64);
    assert_int_equal(e->rule.fp_off, -48);
    gp_uw_table_free(t);
}

static void test_fixture_debug_frame(void **state)
{
    (void)state;
    /* the stripped library has no CFI: an empty table, not an error */
    struct gp_uw_table *t = build_file(fixture("uwfix_df.so"), NULL);
    assert_int_equal(t->n, 0);
    assert_int_equal(t->stats.source, 0);
    gp_uw_table_free(t);
    /* with its debug file: .debug_frame */
    t = build_file(fixture("uwfix_df.so"), fixture("uwfix_df.debug"));
    FILE *f = fopen(fixture("uwfix_df.frames"), "r");
    assert_non_null(f);
    struct gp_uw_table want = {0};
    expected_table(f, 0, 0, &want);
    fclose(f);
    assert_int_equal(t->stats.source, 2);
    compare_tables(&want, t);
    free(want.e);
    assert_int_equal(gp_uw_table_find(t, 0x1080)->rule.cfa, GP_UW_SIGNAL);
    assert_int_equal(gp_uw_table_find(t, 0x108a)->rule.cfa, GP_UW_END);
    gp_uw_table_free(t);
}

/* A binary whose section headers are gone (sstrip): PT_GNU_EH_FRAME finds .eh_frame_hdr and
 * through it .eh_frame; the table is the same. */
static void test_no_section_headers(void **state)
{
    (void)state;
    struct gp_uw_table *want = build_file(fixture("uwfix.so"), NULL);
    FILE *f = fopen(fixture("uwfix.so"), "rb");
    assert_non_null(f);
    static uint8_t img[1 << 16];
    size_t n = fread(img, 1, sizeof(img), f);
    fclose(f);
    assert_true(n > 64 && n < sizeof(img));
    memset(img + 0x28, 0, 8); /* e_shoff */
    memset(img + 0x3c, 0, 4); /* e_shnum, e_shstrndx */
    int fd = memfd_create("uwfix-nosections", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, img, n), (ssize_t)n);
    struct gp_uw_table *t = NULL;
    struct gp_err err = {0};
    if (gp_uw_table_build(fd, NULL, &t, &err))
        fail_msg("%s", err.msg);
    close(fd);
    assert_int_equal(t->stats.source, 1);
    compare_tables(want, t);
    gp_uw_table_free(t);
    gp_uw_table_free(want);
}

/* Every row of system libraries against readelf's own interpretation of their CFI. */
static void test_system_libs_match_readelf(void **state)
{
    (void)state;
    static const char *const libs[] = {LIBC, "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0",
                                       "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"};
    if (system("readelf --version >/dev/null 2>&1") != 0)
        skip();
    int done = 0;
    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        if (access(libs[i], R_OK) != 0)
            continue;
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "readelf --debug-dump=frames-interp %s 2>/dev/null", libs[i]);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        struct gp_uw_table want = {0};
        uint64_t plt = section_of(libs[i], ".plt");
        expected_table(p, plt, plt ? plt + 0x10000 : 0, &want);
        pclose(p); /* readelf exits 1 on warnings about other sections */
        assert_true(want.n > 1000);
        struct gp_uw_table *t = build_file(libs[i], NULL);
        compare_tables(&want, t);
        free(want.e);
        gp_uw_table_free(t);
        done++;
    }
    assert_true(done > 0);
}

static void test_no_cfi_is_empty(void **state)
{
    (void)state;
    /* /proc/self/exe has CFI; a non-ELF file is -EINVAL, not a crash */
    char path[] = "/tmp/gprof-uwt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, "not an elf", 10), 10);
    struct gp_uw_table *t = NULL;
    struct gp_err err = {0};
    assert_int_equal(gp_uw_table_build(fd, NULL, &t, &err), -EINVAL);
    assert_null(t);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_interpreter_rules),
            cmocka_unit_test(test_garbage_is_einval),
            cmocka_unit_test(test_system_libc),
            cmocka_unit_test(test_no_cfi_is_empty),
            cmocka_unit_test(test_fixture_eh_frame),
            cmocka_unit_test(test_fixture_debug_frame),
            cmocka_unit_test(test_no_section_headers),
            cmocka_unit_test(test_system_libs_match_readelf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
