/* test_symbols.c — the symbolizer's parts in isolation: maps parser, cgroup → container id and
 * name, kallsyms and perf-map parsing, demangling, vDSO symbols and the LRU bound of the ELF cache.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/procs/maps.h"
#include "agent/procs/procinfo.h"
#include "agent/symbols/demangle.h"
#include "agent/symbols/elfcache.h"
#include "agent/symbols/elfsyms.h"
#include "agent/symbols/kallsyms.h"
#include "agent/symbols/kallsyms_cache.h"
#include "agent/symbols/loader.h"
#include "agent/symbols/perfmap.h"
#include "agent/symbols/symbolizer.h"

static const char maps_text[] =
        "55d0c0a00000-55d0c0a01000 r--p 00000000 fd:01 1234                       /usr/bin/app\n"
        "55d0c0a01000-55d0c0a05000 r-xp 00001000 fd:01 1234                       /usr/bin/app\n"
        "55d0c0c00000-55d0c0c21000 rw-p 00000000 00:00 0                          [heap]\n"
        "7f0000000000-7f0000001000 rwxp 00000000 00:00 0 \n"
        "7f0000100000-7f0000200000 r-xp 00028000 08:02 99                         /opt/my "
        "lib/libx.so (deleted)\n"
        "7f0000300000-7f0000301000 r-xp 00000000 00:00 0                          [anon:jit]\n"
        "7ffd5a3fe000-7ffd5a400000 r-xp 00000000 00:00 0                          [vdso]\n"
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

static void test_maps_parse(void **state)
{
    struct gp_maps m;
    struct gp_err err = {0};
    assert_int_equal(gp_maps_parse(maps_text, strlen(maps_text), 0, &m, &err), 0);
    assert_int_equal(m.n, 8);
    gp_maps_free(&m);

    assert_int_equal(gp_maps_parse(maps_text, strlen(maps_text), 1, &m, &err), 0);
    assert_int_equal(m.n, 6);
    const struct gp_map *g = gp_maps_find(&m, 0x55d0c0a01234);
    assert_non_null(g);
    assert_int_equal(g->kind, GP_MAP_FILE);
    assert_int_equal(g->offset, 0x1000);
    assert_int_equal(g->dev_major, 0xfd);
    assert_int_equal(g->dev_minor, 1);
    assert_int_equal(g->inode, 1234);
    assert_string_equal(g->path, "/usr/bin/app");
    assert_string_equal(gp_map_module_name(g), "app");
    assert_false(g->deleted);

    g = gp_maps_find(&m, 0x7f0000100010);
    assert_non_null(g);
    assert_true(g->deleted);
    assert_string_equal(g->path, "/opt/my lib/libx.so");
    assert_string_equal(gp_map_module_name(g), "libx.so");
    assert_int_equal(g->offset, 0x28000);

    g = gp_maps_find(&m, 0x7f0000000800);
    assert_non_null(g);
    assert_int_equal(g->kind, GP_MAP_ANON);
    assert_string_equal(gp_map_module_name(g), "[anon]");
    g = gp_maps_find(&m, 0x7f0000300000);
    assert_int_equal(g->kind, GP_MAP_ANON);
    g = gp_maps_find(&m, 0x7ffd5a3fe100);
    assert_int_equal(g->kind, GP_MAP_VDSO);
    assert_string_equal(gp_map_module_name(g), "[vdso]");
    g = gp_maps_find(&m, 0xffffffffff600000);
    assert_int_equal(g->kind, GP_MAP_SPECIAL);

    assert_null(gp_maps_find(&m, 0x55d0c0a00800)); /* r--p was filtered out */
    assert_null(gp_maps_find(&m, 0x55d0c0a05000)); /* end is exclusive */
    assert_null(gp_maps_find(&m, 0x10));
    gp_maps_free(&m);
}

static void test_maps_errors(void **state)
{
    struct gp_maps m;
    struct gp_err err = {0};
    const char *bad = "55d0c0a00000-55d0c0a01000 r--p 00000000 fd:01 1234 /a\nnot a maps line\n";
    assert_int_equal(gp_maps_parse(bad, strlen(bad), 0, &m, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "line 2"));
    const char *unsorted = "2000-3000 r-xp 0 00:00 0\n1000-2000 r-xp 0 00:00 0\n";
    assert_int_equal(gp_maps_parse(unsorted, strlen(unsorted), 0, &m, &err), -EINVAL);
    assert_int_equal(gp_maps_read(0x7ffffff0u, 1, &m, &err), -ESRCH);
    /* our own maps parse and contain this function */
    assert_int_equal(gp_maps_read((uint32_t)getpid(), 1, &m, &err), 0);
    assert_non_null(gp_maps_find(&m, (uint64_t)(uintptr_t)&test_maps_errors));
    gp_maps_free(&m);
}

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void check_cgroup(const char *text, int found, const char *runtime)
{
    char id[80], rt[32];
    int r = gp_cgroup_container_id(text, id, sizeof(id), rt, sizeof(rt));
    if (r != found)
        fail_msg("%s: found=%d, want %d", text, r, found);
    if (found) {
        assert_string_equal(id, ID64);
        assert_string_equal(rt, runtime);
    } else {
        assert_string_equal(id, "");
    }
}

static void test_cgroup_container_id(void **state)
{
    check_cgroup("12:pids:/docker/" ID64 "\n0::/docker/" ID64 "\n", 1, "docker");
    check_cgroup("0::/system.slice/docker-" ID64 ".scope\n", 1, "docker");
    check_cgroup("11:memory:/kubepods/besteffort/pod3c1f6f43-2a0c-4d8e-9a7b-1f2e3d4c5b6a/" ID64
                 "\n",
                 1, "containerd");
    check_cgroup("0::/kubepods.slice/kubepods-burstable.slice/"
                 "kubepods-burstable-pod3c1f6f43_2a0c.slice/cri-containerd-" ID64 ".scope\n",
                 1, "containerd");
    check_cgroup("0::/kubepods.slice/kubepods-pod1.slice/crio-" ID64 ".scope\n", 1, "cri-o");
    check_cgroup("0::/machine.slice/libpod-" ID64 ".scope/container\n", 1, "podman");
    /* not containers */
    check_cgroup("0::/user.slice/user-0.slice/session-3.scope\n", 0, "");
    check_cgroup("4:memory:/process_api/e1b767aba2609751b16499c1727768d0\n0::/\n", 0, "");
    check_cgroup("0::/kubepods.slice/kubepods-pod1.slice/crio-conmon-" ID64 ".scope\n", 0, "");
    check_cgroup("", 0, "");
    /* the process running this test: no error */
    char id[80], name[80];
    assert_int_equal(gp_proc_container((uint32_t)getpid(), id, sizeof(id), name, sizeof(name)), 0);
    assert_int_equal(gp_proc_container(0x7ffffff0u, id, sizeof(id), name, sizeof(name)), -ESRCH);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_container_name_lookup(void **state)
{
    char root[] = "/tmp/gprof-cname-XXXXXX";
    assert_non_null(mkdtemp(root));
    char path[512], cmd[600];
    snprintf(path, sizeof(path), "%s/var/lib/docker/containers/" ID64, root);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
    strcat(path, "/config.v2.json");
    write_file(path, "{\"ID\":\"" ID64 "\",\"Name\":\"/web-frontend\"}");
    snprintf(path, sizeof(path), "%s/run/containerd/io.containerd.runtime.v2.task/k8s.io/" ID64,
             root);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
    strcat(path, "/config.json");
    write_file(path, "{\"annotations\":{\"io.kubernetes.cri.container-name\":\"api\"}}");
    snprintf(path, sizeof(path), "%s/var/lib/containers/storage/overlay-containers", root);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
    strcat(path, "/containers.json");
    write_file(path, "[{\"id\":\"other\",\"names\":[\"x\"]},{\"id\":\"" ID64
                     "\",\"names\":[\"podman-db\"]}]");

    char name[64];
    assert_int_equal(gp_container_name_lookup(root, "docker", ID64, name, sizeof(name)), 1);
    assert_string_equal(name, "web-frontend");
    assert_int_equal(gp_container_name_lookup(root, "containerd", ID64, name, sizeof(name)), 1);
    assert_string_equal(name, "api");
    assert_int_equal(gp_container_name_lookup(root, "podman", ID64, name, sizeof(name)), 1);
    assert_string_equal(name, "podman-db");
    assert_int_equal(gp_container_name_lookup(root, "cri-o", ID64, name, sizeof(name)), 0);
    assert_string_equal(name, "0123456789ab");
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

static void test_kallsyms_parse(void **state)
{
    const char *text = "ffffffff81000000 T _stext\n"
                       "ffffffff81000100 t do_one_initcall\n"
                       "ffffffff81000200 D some_data\n"
                       "ffffffff81000300 W weak_fn\n"
                       "ffffffffc0001000 t mod_fn\t[mymod]\n";
    struct gp_rangetab t = {0};
    struct gp_err err = {0};
    assert_int_equal(gp_kallsyms_parse(text, strlen(text), &t, &err), 0);
    assert_string_equal(gp_rangetab_lookup(&t, 0xffffffff81000000), "_stext_[k]");
    assert_string_equal(gp_rangetab_lookup(&t, 0xffffffff810000ff), "_stext_[k]");
    /* data symbols are not functions: the previous function runs up to the next one */
    assert_string_equal(gp_rangetab_lookup(&t, 0xffffffff81000250), "do_one_initcall_[k]");
    assert_string_equal(gp_rangetab_lookup(&t, 0xffffffff81000310), "weak_fn_[k]");
    assert_string_equal(gp_rangetab_lookup(&t, 0xffffffffc0001010), "mod_fn_[k]");
    assert_null(gp_rangetab_lookup(&t, 0xffffffffc0001000 + 8192));
    assert_null(gp_rangetab_lookup(&t, 0x1000));
    gp_rangetab_free(&t);

    const char *hidden = "0000000000000000 T _stext\n0000000000000000 t foo\n";
    assert_int_equal(gp_kallsyms_parse(hidden, strlen(hidden), &t, &err), -EPERM);
    assert_non_null(strstr(err.msg, "kptr_restrict"));
}

/* A file larger than the load's read buffer, so lines straddle reads: loading it must give the
 * table parsing it whole gives. The tail is out of order and repeats an address (modules and
 * BPF programs come last in the real file; the later entry at one address wins). */
static void test_kallsyms_load_chunked(void **state)
{
    char path[] = "/tmp/gp-kallsyms-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    const unsigned n = 60000; /* ~3 MB */
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "%016" PRIx64 " %c function_with_a_long_enough_name_%u\n",
                (uint64_t)0xffffffff81000000ULL + (uint64_t)i * 64, i % 2 ? 't' : 'T', i);
    fprintf(f, "ffffffffc0002000 t mod_b\t[mod]\nffffffffc0001000 t mod_a\t[mod]\n");
    fprintf(f, "ffffffff81000040 t alias_of_1\n");
    assert_int_equal(fclose(f), 0);

    struct gp_rangetab a = {0}, b = {0};
    struct gp_err err = {0};
    assert_int_equal(gp_kallsyms_load(path, &a, &err), 0);
    char *text;
    size_t len;
    assert_int_equal(gp_read_file(path, &text, &len), 0);
    assert_int_equal(gp_kallsyms_parse(text, len, &b, &err), 0);
    free(text);
    unlink(path);
    assert_int_equal(a.n, n + 2); /* the alias replaced function 1 */
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        assert_true(a.v[i].start == b.v[i].start && a.v[i].size == b.v[i].size);
        assert_string_equal(a.strs + a.v[i].name, b.strs + b.v[i].name);
        if (i)
            assert_true(a.v[i - 1].start < a.v[i].start);
    }
    assert_string_equal(gp_rangetab_lookup(&a, 0xffffffff81000000ULL + 59999 * 64 + 3),
                        "function_with_a_long_enough_name_59999_[k]");
    assert_string_equal(gp_rangetab_lookup(&a, 0xffffffff81000041ULL), "alias_of_1_[k]");
    assert_string_equal(gp_rangetab_lookup(&a, 0xffffffffc0001010ULL), "mod_a_[k]");
    assert_string_equal(gp_rangetab_lookup(&a, 0xffffffffc0002010ULL), "mod_b_[k]");
    gp_rangetab_free(&a);
    gp_rangetab_free(&b);
    assert_true(gp_kallsyms_load("/nonexistent/kallsyms", &a, &err) < 0);
    assert_non_null(strstr(err.msg, "/nonexistent/kallsyms"));
}

/* Held files: one per identity however many mappings share it, closed with the last release,
 * and ids of holds already read or released are inert. */
static void test_loader_holds(void **state)
{
    struct gp_loader *l;
    const char *dirs[] = {"/usr/lib/debug"};
    assert_int_equal(gp_loader_new(dirs, 1, &l), 0);
    struct stat st;
    int fd1 = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    assert_true(fd1 >= 0 && fstat(fd1, &st) == 0);
    struct gp_elf_key k;
    gp_elf_key_from_stat(&st, &k);
    uint64_t a = gp_loader_hold(l, &k, fd1, -1, strdup("/self"));
    int fd2 = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    uint64_t b = gp_loader_hold(l, &k, fd2, -1, strdup("/self"));
    assert_true(a != 0 && a == b);
    assert_int_equal(gp_loader_pending(l), 1);
    assert_int_equal(fcntl(fd2, F_GETFD), -1); /* the second descriptor was closed at once */
    gp_loader_release(l, a);
    assert_int_equal(gp_loader_pending(l), 1); /* b still holds it */
    assert_int_equal(fcntl(fd1, F_GETFD), FD_CLOEXEC);
    gp_loader_release(l, b);
    assert_int_equal(gp_loader_pending(l), 0);
    assert_int_equal(fcntl(fd1, F_GETFD), -1);
    gp_loader_release(l, b); /* stale: ignored */

    int fd3 = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    uint64_t c = gp_loader_hold(l, &k, fd3, -1, strdup("/self"));
    assert_true(c != 0 && c != a); /* the slot was reused under a new generation */
    gp_loader_release(l, a);       /* an old id does not touch the new hold */
    assert_int_equal(gp_loader_pending(l), 1);
    struct gp_elfsyms *syms = NULL;
    assert_int_equal(gp_loader_take(l, &k, &syms), 1);
    assert_non_null(syms); /* this test binary is an ELF with symbols */
    gp_elfsyms_free(syms);
    assert_int_equal(gp_loader_pending(l), 0);
    assert_int_equal(gp_loader_take(l, &k, &syms), 0);
    gp_loader_release(l, c); /* read already: ignored */
    gp_loader_free(l);
}

/* The per-boot kernel symbol file: written by the first load, mapped by the next with the same
 * names, ignored when others could have written it, and bypassed by a fresh load. */
static void test_kallsyms_cache(void **state)
{
    char dir[] = "/tmp/gp-kcache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[64], file[96];
    snprintf(sub, sizeof(sub), "%s/cache", dir);
    snprintf(file, sizeof(file), "%s/kallsyms", sub);
    struct gp_rangetab live = {0}, a = {0}, b = {0};
    struct gp_err err = {0};
    assert_int_equal(gp_kallsyms_load("/proc/kallsyms", &live, &err), 0);
    assert_int_equal(gp_kallsyms_load_cached(sub, 0, &a, &err), 0);
    assert_null(a.map); /* first: a live read, then saved */
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(gp_kallsyms_load_cached(sub, 0, &b, &err), 0);
    assert_non_null(b.map); /* second: mapped */
    /* (BPF programs loaded meanwhile by other tests come and go: compare the rest) */
    size_t compared = 0;
    for (size_t i = 0; i < live.n; i += 997) {
        uint64_t addr = live.v[i].start + live.v[i].size / 2;
        const char *want = gp_rangetab_lookup(&live, addr);
        if (!want || strncmp(want, "bpf_", 4) == 0)
            continue;
        assert_string_equal(gp_rangetab_lookup(&b, addr), want);
        compared++;
    }
    assert_true(compared > 50);
    gp_rangetab_free(&b);
    assert_int_equal(gp_kallsyms_load_cached(sub, 1, &b, &err), 0);
    assert_null(b.map); /* fresh: live */
    gp_rangetab_free(&b);
    assert_int_equal(chmod(file, 0666), 0);
    assert_int_equal(gp_kallsyms_load_cached(sub, 0, &b, &err), 0);
    assert_null(b.map); /* writable by others: not trusted, read live and written anew */
    gp_rangetab_free(&b);
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* a file that is not a table is refused, not trusted */
    int fd = open(file, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "garbage", 7), 7);
    close(fd);
    struct gp_rangetab c = {0};
    fd = open(file, O_RDONLY);
    assert_int_equal(gp_rangetab_map(&c, fd, "x", 1), -EINVAL);
    close(fd);
    gp_rangetab_free(&a);
    gp_rangetab_free(&live);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_perfmap_parse(void **state)
{
    const char *text = "7f0000001000 40 LazyCompile:*foo /app/x.js:1\n"
                       "0x7f0000002000 0x20 py::bar:/app/y.py\n"
                       "garbage line\n"
                       "7f0000001000 10 replaced_later\n"
                       "7f0000003000 10 _ZN3gpw3jit4loopEv\n"
                       "7f0000004000 10 partial_no_newline";
    struct gp_rangetab t = {0};
    struct gp_err err = {0};
    assert_int_equal(gp_perfmap_parse(text, strlen(text), &t, &err), 0);
    assert_string_equal(gp_rangetab_lookup(&t, 0x7f0000001008), "replaced_later");
    assert_string_equal(gp_rangetab_lookup(&t, 0x7f000000201f), "py::bar:/app/y.py");
    assert_null(gp_rangetab_lookup(&t, 0x7f0000002020));
    assert_string_equal(gp_rangetab_lookup(&t, 0x7f0000003004), "gpw::jit::loop()");
    assert_null(gp_rangetab_lookup(&t, 0x7f0000004004));
    gp_rangetab_free(&t);
}

static void test_demangle(void **state)
{
    char *d = gp_demangle("_ZN3gpw6engine6MatrixIdE8multiplyEi");
    assert_non_null(d);
    assert_string_equal(d, "gpw::engine::Matrix<double>::multiply(int)");
    free(d);
    d = gp_demangle("_ZN4core3fmt5write17h0123456789abcdefE"); /* Rust legacy */
    assert_non_null(d);
    assert_string_equal(d, "core::fmt::write");
    free(d);
    d = gp_demangle("_RNvNtCs1234_7mycrate5inner3bar"); /* Rust v0 */
    assert_non_null(d);
    assert_string_equal(d, "mycrate::inner::bar");
    free(d);
    assert_null(gp_demangle("main"));
    assert_null(gp_demangle("_start"));
}

static void test_vdso(void **state)
{
    uint64_t base = getauxval(AT_SYSINFO_EHDR);
    if (!base)
        skip();
    struct gp_maps m;
    struct gp_err err = {0};
    assert_int_equal(gp_maps_read((uint32_t)getpid(), 1, &m, &err), 0);
    const struct gp_map *g = gp_maps_find(&m, base);
    assert_non_null(g);
    struct gp_elfsyms *e;
    assert_int_equal(
            gp_elfsyms_load_mem((void *)(uintptr_t)base, g->end - g->start, NULL, &e, &err), 0);
    assert_true(e->nsyms > 0);
    /* the first vDSO function, named through the symbolizer at its runtime address */
    uint64_t vaddr = e->syms[0].addr, fileoff = 0;
    for (size_t i = 0; i < e->nloads; i++)
        if (vaddr >= e->loads[i].vaddr && vaddr < e->loads[i].vaddr + e->loads[i].filesz)
            fileoff = vaddr - e->loads[i].vaddr + e->loads[i].off;
    char want[256];
    snprintf(want, sizeof(want), "%s", gp_elfsyms_lookup(e, vaddr));
    struct gp_symbolizer *s;
    struct gp_symbolizer_opts o = {.no_kernel = 1};
    assert_int_equal(gp_symbolizer_new(&o, &s, &err), 0);
    uint64_t ip = g->start + fileoff + 1;
    const char *out[1];
    assert_int_equal(gp_symbolize_user(s, (uint32_t)getpid(), &ip, 1, out), 0);
    assert_string_equal(out[0], want);
    assert_non_null(strstr(out[0], "vdso"));
    gp_symbolizer_free(s);
    gp_elfsyms_free(e);
    gp_maps_free(&m);
}

static struct gp_elf_entry *cache_load(struct gp_elfcache *c, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    struct gp_elf_key k;
    gp_elf_key_from_stat(&st, &k);
    struct gp_elf_entry *e;
    struct gp_err err = {0};
    assert_int_equal(gp_elfcache_get(c, fd, &k, NULL, &e, &err), 0);
    close(fd);
    return e;
}

/* Finds the path of a mapped library of this process by name fragment. */
static void mapped_path(const char *frag, char *out, size_t len)
{
    struct gp_maps m;
    struct gp_err err = {0};
    assert_int_equal(gp_maps_read((uint32_t)getpid(), 1, &m, &err), 0);
    out[0] = '\0';
    for (size_t i = 0; i < m.n; i++)
        if (m.v[i].kind == GP_MAP_FILE && strstr(gp_map_module_name(&m.v[i]), frag))
            snprintf(out, len, "%s", m.v[i].path);
    gp_maps_free(&m);
    assert_true(out[0] != '\0');
}

/* Assembly entry points are NOTYPE labels: ld.so's _start (its ELF entry) is named from its
 * debug file (libc6-dbg), and labels never split a sized function. */
static void test_code_labels(void **state)
{
    char ld[4096];
    mapped_path("ld-linux", ld, sizeof(ld));
    int fd = open(ld, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    const char *dirs[] = {"/usr/lib/debug"};
    struct gp_debug_search ds = {dirs, 1, "", ld};
    struct gp_elfsyms *e;
    struct gp_err err = {0};
    assert_int_equal(gp_elfsyms_load_fd(fd, &ds, &e, &err), 0);
    close(fd);
    if (!(e->sources & (GP_SRC_DEBUG_BUILDID | GP_SRC_DEBUGLINK | GP_SRC_SYMTAB)))
        fail_msg("no symbol table for %s: install libc6-dbg (scripts/install-deps.sh)", ld);
    FILE *f = fopen(ld, "rb");
    assert_non_null(f);
    unsigned char eh[64];
    assert_int_equal(fread(eh, 1, sizeof(eh), f), sizeof(eh));
    fclose(f);
    uint64_t entry;
    memcpy(&entry, eh + 24, 8); /* e_entry of an ELF64 header */
    assert_string_equal(gp_elfsyms_lookup(e, entry), "_start");
    assert_string_equal(gp_elfsyms_lookup(e, entry + 4), "_start");
    /* every sized function still covers its whole range */
    for (size_t i = 0; i + 1 < e->nsyms; i++)
        assert_true(e->syms[i].addr + e->syms[i].size <= e->syms[i + 1].addr ||
                    e->syms[i].size == UINT32_MAX);
    gp_elfsyms_free(e);
}

static void test_elfcache_lru_bound(void **state)
{
    char libc[4096], cmocka[4096], self[4096];
    mapped_path("libc.so", libc, sizeof(libc));
    mapped_path("libcmocka", cmocka, sizeof(cmocka));
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(n > 0);
    self[n] = '\0';

    struct gp_elfcache *c;
    assert_int_equal(gp_elfcache_new(SIZE_MAX, &c), 0);
    struct gp_elf_entry *a = cache_load(c, libc);
    struct gp_elf_entry *b = cache_load(c, cmocka);
    struct gp_elf_entry *x = cache_load(c, self);
    assert_ptr_equal(cache_load(c, libc), a); /* loaded once; now most recently used */
    struct gp_elfcache_stats st;
    gp_elfcache_stats(c, &st);
    assert_int_equal(st.loads, 3);
    assert_int_equal(st.hits, 1);
    /* names carry no symbol versions ("clock_gettime@@GLIBC_2.17" is "clock_gettime") */
    const struct gp_elfsyms *ls = gp_elf_entry_syms(a);
    size_t versioned = 0;
    for (size_t i = 0; i < ls->nsyms; i++)
        versioned += strchr(ls->strs + ls->syms[i].name, '@') != NULL;
    assert_int_equal(versioned, 0);
    assert_true(ls->nsyms > 1000);
    size_t ba = gp_elf_entry_syms(a)->bytes, bb = gp_elf_entry_syms(b)->bytes,
           bx = gp_elf_entry_syms(x)->bytes;
    assert_int_equal(st.bytes, ba + bb + bx);
    gp_elfcache_free(c);

    /* budget for two of the three: the least recently used (cmocka) goes */
    assert_int_equal(gp_elfcache_new(ba + bx, &c), 0);
    a = cache_load(c, libc);
    b = cache_load(c, cmocka);
    x = cache_load(c, self);
    cache_load(c, libc);
    uint64_t gen = gp_elfcache_generation(c);
    assert_int_equal(gp_elfcache_trim(c), 1);
    assert_true(gp_elfcache_generation(c) != gen);
    gp_elfcache_stats(c, &st);
    assert_int_equal(st.entries, 2);
    assert_true(st.bytes <= ba + bx);
    int fd = open(libc, O_RDONLY);
    struct stat sst;
    assert_int_equal(fstat(fd, &sst), 0);
    close(fd);
    struct gp_elf_key k;
    gp_elf_key_from_stat(&sst, &k);
    assert_ptr_equal(gp_elfcache_find(c, &k), a);

    /* pinned entries survive any budget */
    gp_elf_entry_pin(a);
    gp_elfcache_free(c);
    assert_int_equal(gp_elfcache_new(0, &c), 0);
    a = cache_load(c, libc);
    gp_elf_entry_pin(a);
    cache_load(c, self);
    assert_int_equal(gp_elfcache_trim(c), 1);
    gp_elfcache_stats(c, &st);
    assert_int_equal(st.entries, 1);
    gp_elf_entry_unpin(a);
    assert_int_equal(gp_elfcache_trim(c), 1);
    gp_elfcache_stats(c, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.bytes, 0);
    gp_elfcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_maps_parse),
            cmocka_unit_test(test_maps_errors),
            cmocka_unit_test(test_cgroup_container_id),
            cmocka_unit_test(test_container_name_lookup),
            cmocka_unit_test(test_kallsyms_parse),
            cmocka_unit_test(test_kallsyms_load_chunked),
            cmocka_unit_test(test_loader_holds),
            cmocka_unit_test(test_kallsyms_cache),
            cmocka_unit_test(test_perfmap_parse),
            cmocka_unit_test(test_demangle),
            cmocka_unit_test(test_vdso),
            cmocka_unit_test(test_code_labels),
            cmocka_unit_test(test_elfcache_lru_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
