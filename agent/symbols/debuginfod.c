/* debuginfod.c — debug files by build-id through libdebuginfod on a worker thread (see
 * debuginfod.h). libdebuginfod is dlopen()ed, and only when URLs are configured: linking it
 * would load libcurl into every gprofctl run (see common/curl/lazy.c). */
#include "agent/symbols/debuginfod.h"
#include "agent/symbols/elfsyms.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef GP_HAVE_DEBUGINFOD
#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#endif

#define MAX_ITEMS 4096 /* build-ids remembered per queue; more are not fetched */

static int g_enabled;

enum item_state { QUEUED, FETCHING, FETCHED, FAILED };

struct item {
    uint8_t id[GP_BUILD_ID_MAX];
    size_t len;
    enum item_state state;
    int deliver; /* fetched and not handed out since */
    char *path;
    struct item *next; /* in request order */
};

struct gp_debuginfod {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thr;
    int started;
    atomic_int stop;
    struct item *head, *tail;
    size_t nitems;
    struct gp_debuginfod_stats st;
    int failure_logged;
    /* the worker's own: the fetch in flight */
    struct timespec t0;
    const char *abort_why;
};

int gp_debuginfod_enabled(void)
{
    return g_enabled;
}

#ifdef GP_HAVE_DEBUGINFOD
static unsigned g_timeout_s = GP_DEBUGINFOD_DEFAULT_TIMEOUT_S;
static uint64_t g_max_bytes = GP_DEBUGINFOD_DEFAULT_MAX_BYTES;
static char g_cache[4096]; /* libdebuginfod's cache directory, as it chooses it */

/* libdebuginfod records an aborted fetch as a miss (an empty file where the debug file goes,
 * trusted for cache_miss_s, 10 min): one we abandoned because the session ended is no answer,
 * so the next run asks again. */
static void forget_abandoned(const char *hex)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s/debuginfo", g_cache, hex);
    if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
        unlink(p);
}

/* A positive integer from the environment, or 0. */
static uint64_t env_u64(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    return *end || v[0] == '-' ? 0 : (uint64_t)n;
}

static int set_env_u64(const char *name, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return setenv(name, buf, 1) == 0 ? 0 : -errno;
}

static struct {
    debuginfod_client *(*begin)(void);
    int (*find_debuginfo)(debuginfod_client *, const unsigned char *, int, char **);
    void (*set_progressfn)(debuginfod_client *, debuginfod_progressfn_t);
    void (*set_user_data)(debuginfod_client *, void *);
    void (*set_verbose_fd)(debuginfod_client *, int);
    void *(*get_user_data)(debuginfod_client *);
    void (*end)(debuginfod_client *);
} api;
static int api_loaded;

static int load_api(struct gp_err *err)
{
    if (api_loaded)
        return 0;
    void *h = dlopen(DEBUGINFOD_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return gp_err_set(err, -ENOENT, "cannot load %s (%s): install the libdebuginfod1 package",
                          DEBUGINFOD_SONAME, dlerror());
#define SYM(field, name)                                                                           \
    if (!(*(void **)&api.field = dlsym(h, name)))                                                  \
        return gp_err_set(err, -ENOENT, "%s has no %s: it is too old", DEBUGINFOD_SONAME, name);
    SYM(begin, "debuginfod_begin")
    SYM(find_debuginfo, "debuginfod_find_debuginfo")
    SYM(set_progressfn, "debuginfod_set_progressfn")
    SYM(set_user_data, "debuginfod_set_user_data")
    SYM(set_verbose_fd, "debuginfod_set_verbose_fd")
    SYM(get_user_data, "debuginfod_get_user_data")
    SYM(end, "debuginfod_end")
#undef SYM
    api_loaded = 1; /* never dlclose()d: its destructor ends libcurl at exit */
    return 0;
}
#endif

int gp_debuginfod_configure(const struct gp_debuginfod_cfg *c, struct gp_err *err)
{
    static const struct gp_debuginfod_cfg none = {0};
    if (!c)
        c = &none;
    g_enabled = 0;
    const char *urls = c->urls ? c->urls : getenv("DEBUGINFOD_URLS");
    if (!urls || !urls[strspn(urls, " \t")])
        return 0;
#ifndef GP_HAVE_DEBUGINFOD
    (void)err;
    gp_warn("debuginfod: URLs are set (%s) but this gprof was built without libdebuginfod "
            "(install Debian's libdebuginfod-dev and rebuild); stripped binaries stay unnamed",
            urls);
    return 0;
#else
    struct gp_err lerr = {0};
    if (load_api(&lerr) < 0) {
        gp_warn("debuginfod: URLs are set (%s) but %s; stripped binaries stay unnamed", urls,
                lerr.msg);
        return 0;
    }
    unsigned t = c->timeout_s;
    if (!t) {
        uint64_t e = env_u64("DEBUGINFOD_TIMEOUT");
        t = e && e <= 86400 ? (unsigned)e : GP_DEBUGINFOD_DEFAULT_TIMEOUT_S;
    }
    uint64_t m = c->max_bytes ? c->max_bytes : env_u64("DEBUGINFOD_MAXSIZE");
    if (!m)
        m = GP_DEBUGINFOD_DEFAULT_MAX_BYTES;
    int rc;
    if (c->cache_dir && (rc = gp_mkdir_p(c->cache_dir, 0700)) < 0)
        return gp_err_set(err, rc, "cannot create the debuginfod cache %s: %s", c->cache_dir,
                          strerror(-rc));
    /* TIMEOUT bounds the wait for a server's first bytes, MAXTIME the whole transfer; the
     * progress callback enforces both bounds again for servers that ignore the size header. */
    if ((c->urls && setenv("DEBUGINFOD_URLS", c->urls, 1) != 0) ||
        (c->cache_dir && setenv("DEBUGINFOD_CACHE_PATH", c->cache_dir, 1) != 0) ||
        set_env_u64("DEBUGINFOD_TIMEOUT", t) || set_env_u64("DEBUGINFOD_MAXTIME", t) ||
        set_env_u64("DEBUGINFOD_MAXSIZE", m))
        return gp_err_set(err, -ENOMEM, "out of memory setting libdebuginfod's environment");
    g_timeout_s = t;
    g_max_bytes = m;
    g_enabled = 1;
    const char *cache = getenv("DEBUGINFOD_CACHE_PATH"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    if (cache)
        snprintf(g_cache, sizeof(g_cache), "%s", cache);
    else if (xdg && *xdg)
        snprintf(g_cache, sizeof(g_cache), "%s/debuginfod_client", xdg);
    else
        snprintf(g_cache, sizeof(g_cache), "%s/.cache/debuginfod_client", home ? home : "");
    gp_info("debuginfod: fetching missing debug files from %s (at most %u s and %" PRIu64
            " MiB each, cache %s)",
            urls, t, m >> 20, g_cache);
    return 1;
#endif
}

int gp_debuginfod_new(struct gp_debuginfod **out)
{
    struct gp_debuginfod *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    atomic_init(&d->stop, 0);
    *out = d;
    return 0;
}

#ifdef GP_HAVE_DEBUGINFOD
/* Called by libdebuginfod about once a second while it waits: a non-zero return aborts. */
static int on_progress(debuginfod_client *c, long done, long total)
{
    struct gp_debuginfod *d = api.get_user_data(c);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (atomic_load(&d->stop))
        d->abort_why = "stopped";
    else if (now.tv_sec - d->t0.tv_sec > (time_t)g_timeout_s)
        d->abort_why = "timed out";
    else if ((done > 0 && (uint64_t)done > g_max_bytes) ||
             (total > 0 && (uint64_t)total > g_max_bytes))
        d->abort_why = "larger than the size bound";
    return d->abort_why != NULL;
}

static struct item *first_queued(struct gp_debuginfod *d)
{
    for (struct item *it = d->head; it; it = it->next)
        if (it->state == QUEUED)
            return it;
    return NULL;
}

static void *worker(void *arg)
{
    struct gp_debuginfod *d = arg;
    debuginfod_client *client = api.begin();
    /* libdebuginfod 0.188 calls dprintf() on its verbose fd even when it is -1, and glibc leaks
     * 8 KiB per call on a bad fd: give it /dev/null */
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (client) {
        api.set_progressfn(client, on_progress);
        api.set_user_data(client, d);
        if (devnull >= 0)
            api.set_verbose_fd(client, devnull);
    }
    pthread_mutex_lock(&d->mu);
    for (;;) {
        struct item *it = NULL;
        while (!atomic_load(&d->stop) && !(it = first_queued(d)))
            pthread_cond_wait(&d->cv, &d->mu);
        if (atomic_load(&d->stop))
            break;
        it->state = FETCHING;
        uint8_t id[GP_BUILD_ID_MAX];
        size_t len = it->len;
        memcpy(id, it->id, len);
        pthread_mutex_unlock(&d->mu);

        char *path = NULL;
        d->abort_why = NULL;
        clock_gettime(CLOCK_MONOTONIC, &d->t0);
        int fd = client ? api.find_debuginfo(client, id, (int)len, &path) : -ENOMEM;
        if (fd >= 0)
            close(fd);
        char hex[2 * GP_BUILD_ID_MAX + 1];
        gp_build_id_hex(id, len, hex);

        pthread_mutex_lock(&d->mu);
        d->st.pending--;
        if (fd >= 0 && path) {
            it->state = FETCHED;
            it->path = path;
            it->deliver = 1;
            d->st.fetched++;
            gp_debug("debuginfod: build-id %s: %s", hex, path);
        } else {
            free(path);
            it->state = FAILED;
            d->st.failed++;
            const char *why = d->abort_why    ? d->abort_why
                              : fd == -ENOENT ? "not on the servers"
                              : fd >= 0       ? "no path"
                                              : strerror(-fd);
            if (d->abort_why && atomic_load(&d->stop))
                forget_abandoned(hex);
            /* a 404 is an answer (ENOENT); a timeout also comes back as ENOENT */
            int notable = d->abort_why ? !atomic_load(&d->stop) : fd != -ENOENT;
            if (!d->failure_logged && notable) {
                d->failure_logged = 1; /* once: an unreachable server fails every build-id */
                gp_warn("debuginfod: build-id %s: %s (further failures are logged at debug "
                        "level)",
                        hex, why);
            } else {
                gp_debug("debuginfod: build-id %s: %s", hex, why);
            }
        }
    }
    pthread_mutex_unlock(&d->mu);
    if (client)
        api.end(client);
    if (devnull >= 0)
        close(devnull);
    return NULL;
}
#endif

int gp_debuginfod_request(struct gp_debuginfod *d, const uint8_t *id, size_t len)
{
    if (!len || len > GP_BUILD_ID_MAX)
        return 0;
    pthread_mutex_lock(&d->mu);
    int rc = 0;
    struct item *it;
    for (it = d->head; it; it = it->next)
        if (it->len == len && !memcmp(it->id, id, len))
            break;
    if (it) {
        if (it->state == FETCHED)
            it->deliver = 1; /* its binary was read again (evicted, re-noted): name it again */
        goto out;
    }
    if (!g_enabled || d->nitems >= MAX_ITEMS)
        goto out;
    if (!(it = calloc(1, sizeof(*it)))) {
        rc = -ENOMEM;
        goto out;
    }
    memcpy(it->id, id, len);
    it->len = len;
    it->state = QUEUED;
    if (d->tail)
        d->tail->next = it;
    else
        d->head = it;
    d->tail = it;
    d->nitems++;
    d->st.requested++;
    d->st.pending++;
#ifdef GP_HAVE_DEBUGINFOD
    if (!d->started) {
        int e = pthread_create(&d->thr, NULL, worker, d);
        if (e) {
            gp_warn("debuginfod: cannot start the fetch thread: %s", strerror(e));
            it->state = FAILED;
            d->st.pending--;
            d->st.failed++;
            goto out;
        }
        d->started = 1;
    }
    pthread_cond_signal(&d->cv);
#endif
out:
    pthread_mutex_unlock(&d->mu);
    return rc;
}

int gp_debuginfod_take(struct gp_debuginfod *d, uint8_t *id, size_t *len, char **path)
{
    int found = 0;
    pthread_mutex_lock(&d->mu);
    for (struct item *it = d->head; it; it = it->next) {
        if (!it->deliver)
            continue;
        char *p = strdup(it->path);
        if (!p)
            break; /* try again at the next take */
        it->deliver = 0;
        memcpy(id, it->id, it->len);
        *len = it->len;
        *path = p;
        found = 1;
        break;
    }
    pthread_mutex_unlock(&d->mu);
    return found;
}

void gp_debuginfod_stats(struct gp_debuginfod *d, struct gp_debuginfod_stats *out)
{
    pthread_mutex_lock(&d->mu);
    *out = d->st;
    pthread_mutex_unlock(&d->mu);
}

void gp_debuginfod_free(struct gp_debuginfod *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    atomic_store(&d->stop, 1);
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    if (d->started)
        pthread_join(d->thr, NULL);
    for (struct item *it = d->head, *n; it; it = n) {
        n = it->next;
        free(it->path);
        free(it);
    }
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
}
