/* test_store_util.h — helpers shared by the store tests (test_store*.c, test_meta.c,
 * test_index.c, test_blob.c): temp directories, deterministic synthetic profiles and a canonical
 * text form of a profile so two profiles can be compared exactly; a fixture's databases, schemas
 * and prefixes on the test servers are dropped with its directory. Header-only on purpose. */
#ifndef GPROF_TEST_STORE_UTIL_H
#define GPROF_TEST_STORE_UTIL_H

#include "common/profile.h"
#include "common/strbuf.h"

#include <ftw.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline double tu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* mkdtemp under $TMPDIR (or /tmp); the caller frees the string and calls tu_rmrf. */
static inline char *tu_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *p = NULL;
    if (asprintf(&p, "%s/gprof-%s-XXXXXX", base, tag) < 0)
        return NULL;
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

/* The engine under test for one store interface: env names it (GPROF_TEST_META, GPROF_TEST_BLOBS,
 * GPROF_TEST_INDEX) either as a bare engine name or as a whole spec ("postgres://user@host/db",
 * used as is); unset = def_engine. A bare embedded engine ("sqlite", "fs") lives at <dir>/<file>.
 * A bare network engine ("postgres") takes its spec from GPROF_TEST_SPEC_<ENGINE> (exported by
 * tests/servers/all.sh for the servers scripts/test.sh started); there and in a whole spec,
 * "{unique}" becomes a lowercase token unique to dir, so each fixture gets its own database,
 * schema or prefix. A network engine without a spec skips the test (exit 77), or fails it under
 * GPROF_REQUIRE_SERVERS=1 (CI). Returns a malloc'd spec, or NULL on allocation failure. */
static inline char *tu_engine_spec(const char *env, const char *def_engine, const char *dir,
                                   const char *file)
{
    const char *v = getenv(env);
    char *s = NULL;
    if (!v || !*v)
        v = def_engine;
    if (!strchr(v, ':') && strcmp(v, "sqlite") != 0 && strcmp(v, "fs") != 0) {
        char name[96];
        int n = snprintf(name, sizeof(name), "GPROF_TEST_SPEC_%s", v);
        for (int i = 16; i < n && name[i]; i++)
            name[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
        const char *spec = getenv(name);
        if (!spec || !*spec) {
            int req = getenv("GPROF_REQUIRE_SERVERS") &&
                      !strcmp(getenv("GPROF_REQUIRE_SERVERS"), "1");
            fprintf(stderr,
                    "%s: %s=%s but %s is not set (scripts/test.sh starts the servers: "
                    "tests/servers/all.sh)\n",
                    req ? "FAIL" : "SKIP", env, v, name);
            exit(req ? 1 : 77);
        }
        v = spec;
    } else if (!strchr(v, ':')) {
        if (asprintf(&s, "%s:%s/%s", v, dir, file) < 0)
            return NULL;
        return s;
    }
    /* "{unique}": the lowercased alphanumerics of dir's last component (mkdtemp made it unique) */
    const char *u = strstr(v, "{unique}");
    if (!u)
        return strdup(v);
    const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    char tok[64];
    size_t t = 0;
    for (const char *c = base; *c && t + 1 < sizeof(tok); c++)
        if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'))
            tok[t++] = *c;
        else if (*c >= 'A' && *c <= 'Z')
            tok[t++] = (char)(*c + 32);
    tok[t] = 0;
    if (asprintf(&s, "%.*s%s%s", (int)(u - v), v, tok, u + 8) < 0)
        return NULL;
    return s;
}

/* The engine name of tu_engine_spec(env, def_engine, ...), for test output. */
static inline const char *tu_engine_name(const char *env, const char *def_engine, char *buf,
                                         size_t bufsz)
{
    const char *v = getenv(env);
    if (!v || !*v)
        v = def_engine;
    snprintf(buf, bufsz, "%.*s", (int)strcspn(v, ":"), v);
    return buf;
}

static inline int tu_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Drops what the network-engine specs specs[0..n) made on the test servers (PostgreSQL schema,
 * S3 prefix, ClickHouse database) with tests/servers/drop.sh; sqlite:/fs: and NULL specs are
 * skipped. Reports failures on stderr, never fails the test (it ran already). */
static inline void tu_specs_drop(char *const *specs, int n)
{
    const char *src = getenv("GPROF_SOURCE_DIR");
    char *argv[8];
    int k = 0;
    char script[4096];
    if (!src ||
        snprintf(script, sizeof(script), "%s/tests/servers/drop.sh", src) >= (int)sizeof(script))
        return;
    argv[k++] = "bash";
    argv[k++] = script;
    for (int i = 0; i < n && k < 7; i++)
        if (specs[i] && strncmp(specs[i], "sqlite:", 7) != 0 && strncmp(specs[i], "fs:", 3) != 0)
            argv[k++] = specs[i];
    argv[k] = NULL;
    if (k == 2)
        return;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execvp("bash", argv);
        _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "# note: tests/servers/drop.sh did not clean everything up\n");
}

/* Drops the network stores of the fixture in dir (the engines GPROF_TEST_META, _BLOBS, _INDEX
 * name, as tu_engine_spec made them for dir); nothing for the embedded engines. */
static inline void tu_engines_drop(const char *dir)
{
    static const char *const envs[3][2] = {{"GPROF_TEST_META", "sqlite"},
                                           {"GPROF_TEST_BLOBS", "fs"},
                                           {"GPROF_TEST_INDEX", "sqlite"}};
    char *specs[3] = {NULL, NULL, NULL};
    int any = 0;
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(envs[i][0]);
        if (v && *v && strcmp(v, "sqlite") != 0 && strcmp(v, "fs") != 0) {
            specs[i] = tu_engine_spec(envs[i][0], envs[i][1], dir, "unused");
            any = 1;
        }
    }
    if (any)
        tu_specs_drop(specs, 3);
    for (int i = 0; i < 3; i++)
        free(specs[i]);
}

/* Removes dir and, when the test ran on network engines, what its fixture made on the servers. */
static inline void tu_rmrf(const char *dir)
{
    if (!dir)
        return;
    tu_engines_drop(dir);
    nftw(dir, tu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* xorshift PRNG so every run builds the same data. */
static inline uint64_t tu_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* A synthetic profile: nstacks distinct stacks of `depth` frames drawn from a pool, spread
 * over a few comms and containers, counts 1..100. Same seed -> same profile. Stacks are
 * "shared" across seeds with the same pool_seed so merging profiles exercises addition. */
static inline struct gp_profile *tu_profile(uint64_t pool_seed, uint64_t count_seed,
                                            unsigned nstacks, unsigned depth)
{
    static const char *const comms[] = {"java", "python3", "nginx", "postgres"};
    static const char *const conts[] = {"", "web-1", "db-0"};
    struct gp_profile *p = gp_profile_new();
    if (!p)
        return NULL;
    char names[64][48];
    const char *frames[64];
    if (depth > 64)
        depth = 64;
    uint64_t cs = count_seed * 7919 + 1;
    for (unsigned i = 0; i < nstacks; i++) {
        uint64_t s = pool_seed * 1000003ULL + i + 1;
        for (unsigned d = 0; d < depth; d++) {
            /* shallow frames are shared, deeper frames diverge: a realistic tree */
            unsigned fan = d < 3 ? 4 : 40;
            snprintf(names[d], sizeof(names[d]), "mod%u::function_%u_%llu", d % 7, d,
                     (unsigned long long)(tu_rand(&s) % fan));
            frames[d] = names[d];
        }
        /* make every stack distinct through its leaf */
        snprintf(names[depth - 1], sizeof(names[depth - 1]), "leaf_%u", i);
        const char *comm = comms[i % 4];
        const char *cont = conts[(i / 4) % 3];
        gp_profile_add(p, 0, cont, comm, frames, depth, 1 + tu_rand(&cs) % 100);
    }
    return p;
}

struct tu_lines {
    char **v;
    size_t n, cap;
};

static inline int tu_line_cb(const struct gp_stack_view *s, void *ctx)
{
    struct tu_lines *l = ctx;
    struct strbuf b = STRBUF_INIT;
    sb_printf(&b, "%s;%s", s->container, s->comm);
    for (uint32_t i = 0; i < s->nframes; i++)
        sb_printf(&b, ";%s", s->frames[i]);
    sb_printf(&b, " %llu", (unsigned long long)s->count);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof(char *));
    }
    l->v[l->n++] = sb_detach(&b, NULL);
    return 0;
}

static inline int tu_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Canonical text: one "container;comm;frames count" line per stack, sorted. Caller frees. */
static inline char *tu_canon(const struct gp_profile *p)
{
    struct tu_lines l = {0};
    gp_profile_foreach(p, tu_line_cb, &l);
    if (l.n)
        qsort(l.v, l.n, sizeof(char *), tu_cmp);
    struct strbuf b = STRBUF_INIT;
    for (size_t i = 0; i < l.n; i++) {
        sb_puts(&b, l.v[i]);
        sb_putc(&b, '\n');
        free(l.v[i]);
    }
    free(l.v);
    if (!b.len) {
        sb_free(&b);
        return strdup("");
    }
    return sb_detach(&b, NULL);
}

#endif
