/* elfsyms.c — ELF function symbols through libelf (see elfsyms.h). */
#include "agent/symbols/elfsyms.h"
#include "agent/symbols/demangle.h"
#include "agent/symbols/funcstarts.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MINIDEBUG_MAX (256u << 20) /* refuse to inflate .gnu_debugdata beyond this */
/* the decoder's memory limit: xz -9 needs 65 MiB; a hostile header may ask for 4 GiB */
#define MINIDEBUG_XZ_MEMLIMIT (128u << 20)

struct rawsym {
    uint64_t addr, size;
    uint32_t name;
    uint8_t prio;  /* lower wins among aliases at the same address */
    uint8_t label; /* STT_NOTYPE code label (asm entry points such as ld.so's _start) */
};

struct collector {
    struct rawsym *v;
    size_t n, cap;
    char *pool;
    size_t plen, pcap;
    int oom;
};

/* Adds a name without its symbol version ("memcpy@@GLIBC_2.14" -> "memcpy"), which static
 * symbol tables of versioned libraries carry; frame text is the function name. */
static uint32_t pool_add(struct collector *c, const char *s)
{
    const char *at = strchr(s, '@');
    size_t l = (at && at > s ? (size_t)(at - s) : strlen(s)) + 1;
    if (c->plen + l > c->pcap) {
        size_t nc = c->pcap ? c->pcap * 2 : 4096;
        while (nc < c->plen + l)
            nc *= 2;
        char *np = realloc(c->pool, nc);
        if (!np) {
            c->oom = 1;
            return 0;
        }
        c->pool = np;
        c->pcap = nc;
    }
    uint32_t off = (uint32_t)c->plen;
    memcpy(c->pool + c->plen, s, l - 1);
    c->pool[c->plen + l - 1] = '\0';
    c->plen += l;
    return off;
}

static void sym_add(struct collector *c, uint64_t addr, uint64_t size, const char *name,
                    uint8_t prio, uint8_t label)
{
    if (c->oom)
        return;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 256;
        struct rawsym *nv = realloc(c->v, nc * sizeof(*nv));
        if (!nv) {
            c->oom = 1;
            return;
        }
        c->v = nv;
        c->cap = nc;
    }
    uint32_t off = pool_add(c, name);
    if (c->oom)
        return;
    c->v[c->n++] = (struct rawsym){addr, size, off, prio, label};
}

static uint8_t sym_prio(const char *name, const GElf_Sym *s, int from_dynsym)
{
    uint8_t p = 0;
    switch (GELF_ST_BIND(s->st_info)) {
    case STB_GLOBAL:
        break;
    case STB_WEAK:
        p = 2;
        break;
    default:
        p = 4;
    }
    if (name[0] == '_')
        p += 1;
    return (uint8_t)(p * 2 + (from_dynsym ? 1 : 0));
}

static int in_exec_section(Elf *elf, size_t shndx)
{
    GElf_Shdr sh;
    Elf_Scn *scn = elf_getscn(elf, shndx);
    return scn && gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_EXECINSTR);
}

/* Adds the FUNC symbols (and code labels) of every section of type `type` (SHT_SYMTAB /
 * SHT_DYNSYM). */
static int collect_table(Elf *elf, Elf32_Word type, struct collector *c)
{
    Elf_Scn *scn = NULL;
    int found = 0;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_entsize == 0)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        if (!d)
            continue;
        size_t n = sh.sh_size / sh.sh_entsize;
        for (size_t i = 0; i < n; i++) {
            GElf_Sym s;
            if (!gelf_getsym(d, (int)i, &s))
                break;
            int t = GELF_ST_TYPE(s.st_info);
            if (s.st_shndx == SHN_UNDEF || s.st_shndx >= SHN_LORESERVE || s.st_value == 0)
                continue;
            int label = t == STT_NOTYPE && in_exec_section(elf, s.st_shndx);
            if (t != STT_FUNC && t != STT_GNU_IFUNC && !label)
                continue;
            const char *name = elf_strptr(elf, sh.sh_link, s.st_name);
            if (!name || !name[0] || (label && (name[0] == '.' || name[0] == '$')))
                continue; /* .L local labels, $x/$d mapping symbols */
            uint8_t prio = (uint8_t)(sym_prio(name, &s, type == SHT_DYNSYM) + (label ? 32 : 0));
            sym_add(c, s.st_value, s.st_size, name, prio, (uint8_t)label);
            found = 1;
        }
    }
    return found;
}

static Elf_Scn *find_section(Elf *elf, const char *want)
{
    size_t shstrndx;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0)
        return NULL;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            continue;
        const char *n = elf_strptr(elf, shstrndx, sh.sh_name);
        if (n && strcmp(n, want) == 0)
            return scn;
    }
    return NULL;
}

static int note_build_id(Elf_Data *d, uint8_t *buf, size_t buflen)
{
    size_t off = 0, noff, doff;
    GElf_Nhdr nh;
    if (!d->d_buf)
        return 0;
    while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
            memcmp((char *)d->d_buf + noff, "GNU", 4) == 0 && nh.n_descsz > 0) {
            size_t l = nh.n_descsz < buflen ? nh.n_descsz : buflen;
            memcpy(buf, (char *)d->d_buf + doff, l);
            return (int)l;
        }
    }
    return 0;
}

static int elf_build_id(Elf *elf, uint8_t *buf, size_t buflen)
{
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        int l = d ? note_build_id(d, buf, buflen) : 0;
        if (l > 0)
            return l;
    }
    /* No section headers (or no note section): walk the PT_NOTE segments. */
    size_t nph;
    if (elf_getphdrnum(elf, &nph) != 0)
        return 0;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
            continue;
        Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
        int l = d ? note_build_id(d, buf, buflen) : 0;
        if (l > 0)
            return l;
    }
    return 0;
}

void gp_build_id_hex(const uint8_t *id, size_t len, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hx[id[i] >> 4];
        out[2 * i + 1] = hx[id[i] & 15];
    }
    out[2 * len] = '\0';
}

int gp_elf_build_id_fd(int fd, uint8_t *buf, size_t buflen)
{
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf)
        return -ENOEXEC;
    int l = elf_kind(elf) == ELF_K_ELF ? elf_build_id(elf, buf, buflen) : -ENOEXEC;
    elf_end(elf);
    return l;
}

static int collect_loads(Elf *elf, struct gp_elfsyms *e)
{
    size_t nph;
    if (elf_getphdrnum(elf, &nph) != 0 || nph == 0)
        return 0;
    e->loads = calloc(nph, sizeof(*e->loads));
    if (!e->loads)
        return -ENOMEM;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
            e->loads[e->nloads++] = (struct gp_elf_load){ph.p_offset, ph.p_vaddr, ph.p_filesz};
    }
    return 0;
}

/* Collects the .symtab of a debug ELF opened at path when it matches the binary (need_id: it
 * must carry the binary's build-id; else a debug file without one is taken too). */
static int try_debug_file(const char *path, const struct gp_elfsyms *e, int check_crc, uint32_t crc,
                          int need_id, struct collector *c)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int ok = 0;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (elf && elf_kind(elf) == ELF_K_ELF) {
        uint8_t bid[GP_BUILD_ID_MAX];
        int bl = elf_build_id(elf, bid, sizeof(bid));
        int match = !need_id || (bl > 0 && e->build_id_len);
        if (e->build_id_len && bl > 0)
            match = (size_t)bl == e->build_id_len && memcmp(bid, e->build_id, (size_t)bl) == 0;
        if (match && check_crc) {
            uLong h = crc32(0L, Z_NULL, 0);
            size_t len;
            char *raw = elf_rawfile(elf, &len);
            if (raw) {
                /* crc32() takes uInt lengths; feed large files in pieces. */
                for (size_t o = 0; o < len;) {
                    size_t k = len - o > (1u << 30) ? (1u << 30) : len - o;
                    h = crc32(h, (const Bytef *)raw + o, (uInt)k);
                    o += k;
                }
                match = (uint32_t)h == crc;
            } else {
                match = 0;
            }
        }
        if (match)
            ok = collect_table(elf, SHT_SYMTAB, c);
    }
    if (elf)
        elf_end(elf);
    close(fd);
    return ok;
}

static int search_build_id(const struct gp_debug_search *ds, struct gp_elfsyms *e,
                           struct collector *c)
{
    if (!e->build_id_len || !ds)
        return 0;
    char hex[2 * GP_BUILD_ID_MAX + 1], path[4096];
    gp_build_id_hex(e->build_id, e->build_id_len, hex);
    for (int inroot = 0; inroot < 2; inroot++) {
        const char *root = inroot ? (ds->root ? ds->root : "") : "";
        if (inroot && !root[0])
            break;
        for (size_t i = 0; i < ds->ndirs; i++) {
            snprintf(path, sizeof(path), "%s%s/.build-id/%.2s/%s.debug", root, ds->dirs[i], hex,
                     hex + 2);
            if (try_debug_file(path, e, 0, 0, 0, c))
                return 1;
        }
    }
    return 0;
}

static int search_debuglink(Elf *elf, const struct gp_debug_search *ds, struct gp_elfsyms *e,
                            struct collector *c)
{
    if (!ds || !ds->path || ds->path[0] != '/')
        return 0;
    Elf_Scn *scn = find_section(elf, ".gnu_debuglink");
    Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
    if (!d || !d->d_buf || d->d_size < 8) /* SHT_NOBITS: a size but no bytes */
        return 0;
    const char *link = d->d_buf;
    size_t ll = strnlen(link, d->d_size);
    if (ll == 0 || ll >= d->d_size || strchr(link, '/'))
        return 0;
    size_t crc_off = (ll + 4) & ~(size_t)3;
    if (crc_off + 4 > d->d_size)
        return 0;
    uint32_t crc;
    memcpy(&crc, (const char *)d->d_buf + crc_off, 4);
    GElf_Ehdr eh;
    if (gelf_getehdr(elf, &eh) &&
        (eh.e_ident[EI_DATA] == ELFDATA2MSB) != (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__))
        crc = __builtin_bswap32(crc);

    char dir[4096], path[8192];
    snprintf(dir, sizeof(dir), "%s", ds->path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return 0;
    *slash = '\0'; /* dir = the binary's directory ("" for /) */
    const char *root = ds->root ? ds->root : "";
    snprintf(path, sizeof(path), "%s%s/%s", root, dir, link);
    if (try_debug_file(path, e, 1, crc, 0, c))
        return 1;
    snprintf(path, sizeof(path), "%s%s/.debug/%s", root, dir, link);
    if (try_debug_file(path, e, 1, crc, 0, c))
        return 1;
    for (int inroot = 0; inroot < 2; inroot++) {
        const char *r = inroot ? root : "";
        if (inroot && !r[0])
            break;
        for (size_t i = 0; i < ds->ndirs; i++) {
            snprintf(path, sizeof(path), "%s%s%s/%s", r, ds->dirs[i], dir, link);
            if (try_debug_file(path, e, 1, crc, 0, c))
                return 1;
        }
    }
    return 0;
}

static int inflate_xz(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    lzma_stream st = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&st, MINIDEBUG_XZ_MEMLIMIT, 0) != LZMA_OK)
        return -ENOMEM;
    size_t cap = inlen * 4 + 4096;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        lzma_end(&st);
        return -ENOMEM;
    }
    st.next_in = in;
    st.avail_in = inlen;
    st.next_out = buf;
    st.avail_out = cap;
    for (;;) {
        lzma_ret r = lzma_code(&st, LZMA_FINISH);
        if (r == LZMA_STREAM_END)
            break;
        if (r != LZMA_OK && r != LZMA_BUF_ERROR) {
            free(buf);
            lzma_end(&st);
            return -EINVAL;
        }
        if (st.avail_out == 0) {
            if (cap >= MINIDEBUG_MAX) {
                free(buf);
                lzma_end(&st);
                return -EFBIG;
            }
            size_t used = cap;
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                lzma_end(&st);
                return -ENOMEM;
            }
            buf = nb;
            cap *= 2;
            st.next_out = buf + used;
            st.avail_out = cap - used;
        } else if (r == LZMA_BUF_ERROR) {
            free(buf);
            lzma_end(&st);
            return -EINVAL; /* truncated input */
        }
    }
    *outlen = cap - st.avail_out;
    *out = buf;
    lzma_end(&st);
    return 0;
}

static int collect_minidebug(Elf *elf, struct collector *c)
{
    Elf_Scn *scn = find_section(elf, ".gnu_debugdata");
    Elf_Data *d = scn ? elf_rawdata(scn, NULL) : NULL;
    if (!d || !d->d_buf || d->d_size == 0)
        return 0;
    uint8_t *img;
    size_t len;
    if (inflate_xz(d->d_buf, d->d_size, &img, &len) < 0)
        return 0;
    int ok = 0;
    Elf *mini = elf_memory((char *)img, len);
    if (mini) {
        if (elf_kind(mini) == ELF_K_ELF)
            ok = collect_table(mini, SHT_SYMTAB, c);
        elf_end(mini);
    }
    free(img);
    return ok;
}

static int rawsym_cmp(const void *a, const void *b)
{
    const struct rawsym *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    return x->name < y->name ? -1 : x->name > y->name;
}

/* Sorts, drops aliases, fills sizes and copies the kept names into e. */
static int finish(struct collector *c, struct gp_elfsyms *e)
{
    if (c->oom)
        return -ENOMEM;
    if (c->n)
        qsort(c->v, c->n, sizeof(*c->v), rawsym_cmp);
    size_t k = 0;
    uint64_t func_end = 0; /* end of the furthest-reaching sized function so far */
    for (size_t i = 0; i < c->n; i++) {
        if (k && c->v[k - 1].addr == c->v[i].addr) {
            if (c->v[k - 1].size == 0)
                c->v[k - 1].size = c->v[i].size;
            continue;
        }
        if (c->v[i].label && c->v[i].addr < func_end)
            continue; /* a label inside a function must not split it */
        if (!c->v[i].label && c->v[i].addr + c->v[i].size > func_end)
            func_end = c->v[i].addr + c->v[i].size;
        c->v[k++] = c->v[i];
    }
    e->syms = k ? malloc(k * sizeof(*e->syms)) : NULL;
    if (k && !e->syms)
        return -ENOMEM;
    size_t plen = 0;
    for (size_t i = 0; i < k; i++)
        plen += strlen(c->pool + c->v[i].name) + 1;
    e->strs = malloc(plen ? plen : 1);
    if (!e->strs)
        return -ENOMEM;
    size_t off = 0;
    for (size_t i = 0; i < k; i++) {
        uint64_t sz = c->v[i].size;
        if (sz == 0 && i + 1 < k)
            sz = c->v[i + 1].addr - c->v[i].addr; /* unsized (asm) symbol: up to the next */
        if (sz > UINT32_MAX)
            sz = UINT32_MAX;
        const char *n = c->pool + c->v[i].name;
        size_t l = strlen(n) + 1;
        memcpy(e->strs + off, n, l);
        e->syms[i] = (struct gp_sym){c->v[i].addr, (uint32_t)sz, (uint32_t)off};
        off += l;
    }
    e->nsyms = k;
    e->strs_len = plen;
    e->bytes = sizeof(*e) + k * sizeof(*e->syms) + plen + e->nloads * sizeof(*e->loads);
    return 0;
}

static int load_elf(Elf *elf, const struct gp_debug_search *ds, int allow_debug,
                    struct gp_elfsyms **out, struct gp_err *err)
{
    if (elf_kind(elf) != ELF_K_ELF)
        return gp_err_set(err, -ENOEXEC, "not an ELF file");
    struct gp_elfsyms *e = calloc(1, sizeof(*e));
    struct collector c = {0};
    int rc = -ENOMEM;
    if (!e)
        goto fail;
    if (collect_loads(elf, e) < 0)
        goto fail;
    int bl = elf_build_id(elf, e->build_id, sizeof(e->build_id));
    e->build_id_len = bl > 0 ? (size_t)bl : 0;
    if (collect_table(elf, SHT_SYMTAB, &c))
        e->sources |= GP_SRC_SYMTAB;
    if (collect_table(elf, SHT_DYNSYM, &c))
        e->sources |= GP_SRC_DYNSYM;
    if (!(e->sources & GP_SRC_SYMTAB) && allow_debug) {
        if (search_build_id(ds, e, &c))
            e->sources |= GP_SRC_DEBUG_BUILDID;
        else if (search_debuglink(elf, ds, e, &c))
            e->sources |= GP_SRC_DEBUGLINK;
        else if (collect_minidebug(elf, &c))
            e->sources |= GP_SRC_MINIDEBUG;
    }
    rc = finish(&c, e);
    if (rc < 0)
        goto fail;
    free(c.v);
    free(c.pool);
    *out = e;
    return 0;
fail:
    free(c.v);
    free(c.pool);
    gp_elfsyms_free(e);
    return gp_err_set(err, rc, "out of memory reading ELF symbols");
}

int gp_elfsyms_load_fd(int fd, const struct gp_debug_search *ds, struct gp_elfsyms **out,
                       struct gp_err *err)
{
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf)
        return gp_err_set(err, -ENOEXEC, "cannot read ELF: %s", elf_errmsg(-1));
    int rc = load_elf(elf, ds, 1, out, err);
    elf_end(elf);
    if (rc == 0)
        gp_funcstarts_load(*out, fd);
    return rc;
}

int gp_elfsyms_load_mem(const void *image, size_t len, const struct gp_debug_search *ds,
                        struct gp_elfsyms **out, struct gp_err *err)
{
    elf_version(EV_CURRENT);
    char *copy = malloc(len);
    if (!copy)
        return gp_err_set(err, -ENOMEM, "out of memory");
    memcpy(copy, image, len);
    Elf *elf = elf_memory(copy, len);
    if (!elf) {
        free(copy);
        return gp_err_set(err, -ENOEXEC, "cannot read ELF image: %s", elf_errmsg(-1));
    }
    struct gp_debug_search bid_only = {0};
    if (ds) {
        bid_only = *ds;
        bid_only.path = NULL; /* no .gnu_debuglink for an image */
    }
    int rc = load_elf(elf, ds ? &bid_only : NULL, ds != NULL, out, err);
    elf_end(elf);
    free(copy);
    return rc;
}

void gp_elfsyms_free(struct gp_elfsyms *e)
{
    if (!e)
        return;
    if (e->dm) {
        for (size_t i = 0; i < e->nsyms; i++)
            free(e->dm[i]);
        free(e->dm);
    }
    free(e->syms);
    free(e->strs);
    free(e->loads);
    free(e->fdes);
    free(e);
}

int gp_elfsyms_wants_debug_file(const struct gp_elfsyms *e)
{
    return e->build_id_len &&
           !(e->sources & (GP_SRC_SYMTAB | GP_SRC_DEBUG_BUILDID | GP_SRC_DEBUGLINK |
                           GP_SRC_MINIDEBUG | GP_SRC_DEBUGINFOD));
}

int gp_elfsyms_add_debug_file(struct gp_elfsyms *e, const char *path, struct gp_err *err)
{
    elf_version(EV_CURRENT);
    struct collector c = {0};
    struct gp_elfsyms merged = {.nloads = e->nloads};
    int rc = -ENOENT;
    if (!try_debug_file(path, e, 0, 0, 1, &c)) {
        gp_err_set(err, rc, "%s: no .symtab for build-id, or another build-id", path);
        goto out;
    }
    /* what e named before loses to the debug file at the same address (see rawsym_cmp) */
    for (size_t i = 0; i < e->nsyms; i++)
        sym_add(&c, e->syms[i].addr, e->syms[i].size, e->strs + e->syms[i].name, UINT8_MAX, 0);
    if ((rc = finish(&c, &merged)) < 0) {
        gp_err_set(err, rc, "out of memory adding the symbols of %s", path);
        goto out;
    }
    if (e->dm) {
        for (size_t i = 0; i < e->nsyms; i++)
            free(e->dm[i]);
        free(e->dm);
        e->dm = NULL;
    }
    free(e->syms);
    free(e->strs);
    e->syms = merged.syms;
    e->nsyms = merged.nsyms;
    e->strs = merged.strs;
    e->strs_len = merged.strs_len;
    e->bytes = merged.bytes;
    e->sources |= GP_SRC_DEBUGINFOD;
    merged.syms = NULL;
    merged.strs = NULL;
    rc = 0;
out:
    free(merged.syms);
    free(merged.strs);
    free(c.v);
    free(c.pool);
    return rc;
}

int gp_elfsyms_vaddr(const struct gp_elfsyms *e, uint64_t file_off, uint64_t *vaddr)
{
    for (size_t i = 0; i < e->nloads; i++) {
        const struct gp_elf_load *l = &e->loads[i];
        if (file_off >= l->off && file_off < l->off + l->filesz) {
            *vaddr = file_off - l->off + l->vaddr;
            return 0;
        }
    }
    return -ENOENT;
}

const char *gp_elfsyms_lookup(struct gp_elfsyms *e, uint64_t vaddr)
{
    size_t lo = 0, hi = e->nsyms;
    while (lo < hi) { /* first symbol with addr > vaddr */
        size_t mid = lo + (hi - lo) / 2;
        if (e->syms[mid].addr <= vaddr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    size_t i = lo - 1;
    const struct gp_sym *s = &e->syms[i];
    if (vaddr - s->addr >= s->size)
        return NULL;
    const char *raw = e->strs + s->name;
    if (!gp_is_mangled(raw))
        return raw;
    if (!e->dm) {
        e->dm = calloc(e->nsyms, sizeof(*e->dm));
        if (!e->dm)
            return raw;
        e->bytes += e->nsyms * sizeof(*e->dm);
    }
    if (!e->dm[i]) {
        e->dm[i] = gp_demangle(raw);
        if (!e->dm[i])
            e->dm[i] = strdup(raw); /* remember the failure: do not retry on every lookup */
        if (!e->dm[i])
            return raw;
        e->bytes += strlen(e->dm[i]) + 1;
    }
    return e->dm[i];
}
