/* fuzz_elf.c — the ELF symbol reader the root agent runs on users' binaries: .symtab/.dynsym,
 * PT_LOAD segments, build-id, .gnu_debuglink and .gnu_debugdata (MiniDebugInfo, xz), through the
 * three entry points: an image in memory (the vDSO), the loader (a held file read later) and the
 * cache. The file is a memfd; debug-file searches look only in directories that do not exist.
 * Never a crash, leak, UB or hang; a loaded table is sorted and every lookup is NULL or a name.
 * The first byte picks the entry point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/symbols/elfcache.h"
#include "agent/symbols/elfsyms.h"
#include "agent/symbols/loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const debug_dirs[] = {"/nonexistent-gprof-fuzz/debug"};

static void probe(struct gp_elfsyms *e)
{
    for (size_t i = 1; i < e->nsyms; i++)
        if (e->syms[i - 1].addr >= e->syms[i].addr || e->syms[i].name >= e->strs_len)
            abort();
    uint64_t probes[] = {0, UINT64_MAX, 0, 0, 0};
    if (e->nsyms) {
        probes[2] = e->syms[0].addr;
        probes[3] = e->syms[e->nsyms / 2].addr + e->syms[e->nsyms / 2].size / 2;
        probes[4] = e->syms[e->nsyms - 1].addr + e->syms[e->nsyms - 1].size;
    }
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        const char *n = gp_elfsyms_lookup(e, probes[i]);
        if (n)
            (void)strlen(n);
    }
    uint64_t va;
    for (size_t i = 0; i < e->nloads; i++)
        (void)gp_elfsyms_vaddr(e, e->loads[i].off + e->loads[i].filesz / 2, &va);
    (void)gp_elfsyms_vaddr(e, UINT64_MAX, &va);
    char hex[2 * GP_BUILD_ID_MAX + 1];
    if (e->build_id_len > GP_BUILD_ID_MAX)
        abort();
    gp_build_id_hex(e->build_id, e->build_id_len, hex);
}

static int memfd_of(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -1;
    }
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *img = data + 1;
    size_t len = size - 1;
    struct gp_debug_search ds = {debug_dirs, 1, "", "/nonexistent-gprof-fuzz/bin/prog"};
    struct gp_elfsyms *e = NULL;
    struct gp_err err = {0};
    static uint64_t ino;
    struct gp_elf_key k = {.dev = 1, .ino = ++ino, .size = len};
    switch (data[0] & 3) {
    case 0: /* the vDSO path: in memory, build-id search and MiniDebugInfo */
        if (gp_elfsyms_load_mem(img, len, data[0] & 4 ? &ds : NULL, &e, &err) == 0) {
            probe(e);
            gp_elfsyms_free(e);
        } else if (err.msg[0] == '\0') {
            abort();
        }
        break;
    case 1: { /* the loader: held now, read later, with the .gnu_debuglink search */
        struct gp_loader *l = NULL;
        int fd = memfd_of(img, len);
        char *path = strdup(ds.path);
        if (fd < 0 || !path || gp_loader_new(debug_dirs, 1, &l)) {
            if (fd >= 0)
                close(fd);
            free(path);
            return 0;
        }
        if (!gp_loader_hold(l, &k, fd, -1, path))
            abort();
        if (gp_loader_take(l, &k, &e) != 1)
            abort();
        if (e) {
            probe(e);
            gp_elfsyms_free(e);
        }
        gp_loader_free(l);
        break;
    }
    default: { /* the cache: loaded once per identity and build-id */
        static struct gp_elfcache *c;
        if (!c && gp_elfcache_new(1 << 20, &c))
            return 0;
        int fd = memfd_of(img, len);
        if (fd < 0)
            return 0;
        struct gp_elf_entry *en = NULL;
        if (gp_elfcache_get(c, fd, &k, &ds, &en, &err) == 0) {
            probe(gp_elf_entry_syms(en));
            if (gp_elfcache_find(c, &k) != en)
                abort();
        }
        close(fd);
        gp_elfcache_trim(c);
        break;
    }
    }
    return 0;
}
