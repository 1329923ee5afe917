/* lazy.c — gp_curl for gprofctl: libcurl loaded on first use. Only the fleet verbs and `start`
 * through a coordinator speak HTTP, but linking libcurl makes every run of gprofctl (`record`
 * included) map and relocate it and its ~28 dependencies first: ~15 ms of CPU before main().
 * Each entry of gp_curl resolves the real functions with dlopen() the first time one is called,
 * then forwards to them. */
#include "common/curl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static struct gp_curl_api fn; /* the real functions, once loaded */
static int loaded;            /* 1: every pointer above is set */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "gprofctl: cannot load libcurl (%s): install the libcurl4 package\n",
                dlerror());
        return;
    }
#define SYM(field, name)                                                                           \
    if (!(*(void **)&fn.field = dlsym(h, name)))                                                   \
        return;
    SYM(global_init, "curl_global_init")
    SYM(global_cleanup, "curl_global_cleanup")
    SYM(easy_init, "curl_easy_init")
    SYM(easy_reset, "curl_easy_reset")
    SYM(easy_setopt, "curl_easy_setopt")
    SYM(easy_perform, "curl_easy_perform")
    SYM(easy_getinfo, "curl_easy_getinfo")
    SYM(easy_strerror, "curl_easy_strerror")
    SYM(easy_cleanup, "curl_easy_cleanup")
    SYM(easy_escape, "curl_easy_escape")
    SYM(free, "curl_free")
    SYM(slist_append, "curl_slist_append")
    SYM(slist_free_all, "curl_slist_free_all")
#undef SYM
    loaded = 1;
}

static int ready(void)
{
    pthread_once(&once, load);
    return loaded;
}

/* Without libcurl every call fails the way libcurl itself reports failure: NULL handles,
 * CURLE_FAILED_INIT. */
static CURLcode lazy_global_init(long flags)
{
    return ready() ? fn.global_init(flags) : CURLE_FAILED_INIT;
}

static void lazy_global_cleanup(void)
{
    if (ready())
        fn.global_cleanup();
}

static CURL *lazy_easy_init(void)
{
    return ready() ? fn.easy_init() : NULL;
}

/* Every option gprof sets takes a long, a pointer or a curl_off_t: on the 64-bit ABIs we build
 * for all three travel in one integer register, so one pointer-sized argument forwards each. */
static CURLcode lazy_easy_setopt(CURL *c, CURLoption opt, ...)
{
    va_list ap;
    va_start(ap, opt);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return ready() ? fn.easy_setopt(c, opt, arg) : CURLE_FAILED_INIT;
}

static CURLcode lazy_easy_perform(CURL *c)
{
    return ready() ? fn.easy_perform(c) : CURLE_FAILED_INIT;
}

static CURLcode lazy_easy_getinfo(CURL *c, CURLINFO info, ...)
{
    va_list ap;
    va_start(ap, info);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return ready() ? fn.easy_getinfo(c, info, arg) : CURLE_FAILED_INIT;
}

static const char *lazy_easy_strerror(CURLcode code)
{
    return ready() ? fn.easy_strerror(code) : "libcurl is not installed";
}

static void lazy_easy_reset(CURL *c)
{
    if (ready())
        fn.easy_reset(c);
}

static void lazy_easy_cleanup(CURL *c)
{
    if (ready())
        fn.easy_cleanup(c);
}

static char *lazy_easy_escape(CURL *c, const char *s, int len)
{
    return ready() ? fn.easy_escape(c, s, len) : NULL;
}

static void lazy_free(void *p)
{
    if (ready())
        fn.free(p);
}

static struct curl_slist *lazy_slist_append(struct curl_slist *l, const char *s)
{
    return ready() ? fn.slist_append(l, s) : NULL;
}

static void lazy_slist_free_all(struct curl_slist *l)
{
    if (ready())
        fn.slist_free_all(l);
}

const struct gp_curl_api gp_curl = {
        .global_init = lazy_global_init,
        .global_cleanup = lazy_global_cleanup,
        .easy_init = lazy_easy_init,
        .easy_setopt = lazy_easy_setopt,
        .easy_perform = lazy_easy_perform,
        .easy_getinfo = lazy_easy_getinfo,
        .easy_strerror = lazy_easy_strerror,
        .easy_reset = lazy_easy_reset,
        .easy_cleanup = lazy_easy_cleanup,
        .easy_escape = lazy_easy_escape,
        .free = lazy_free,
        .slist_append = lazy_slist_append,
        .slist_free_all = lazy_slist_free_all,
};
