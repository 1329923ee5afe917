/* curl_lazy.c — gprofctl's libcurl, loaded on first use. Only the fleet verbs and `start`
 * through a coordinator speak HTTP, but linking libcurl makes every run of gprofctl (`record`
 * included) map and relocate it and its ~28 dependencies first: ~15 ms of CPU before main().
 * These definitions stand in for the ten libcurl functions gprofctl calls and forward to the
 * real ones, resolved with dlopen() the first time one is called. */
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static struct {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    void (*easy_cleanup)(CURL *);
    char *(*easy_escape)(CURL *, const char *, int);
    void (*free)(void *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} fn;
static int loaded; /* 1: every pointer above is set */
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
    SYM(easy_init, "curl_easy_init")
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
CURL *curl_easy_init(void)
{
    return ready() ? fn.easy_init() : NULL;
}

/* Every option gprofctl sets takes a long, a pointer or a curl_off_t: on the 64-bit ABIs we build
 * for all three travel in one integer register, so one pointer-sized argument forwards each. */
#undef curl_easy_setopt
CURLcode curl_easy_setopt(CURL *c, CURLoption opt, ...)
{
    va_list ap;
    va_start(ap, opt);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return ready() ? fn.easy_setopt(c, opt, arg) : CURLE_FAILED_INIT;
}

CURLcode curl_easy_perform(CURL *c)
{
    return ready() ? fn.easy_perform(c) : CURLE_FAILED_INIT;
}

#undef curl_easy_getinfo
CURLcode curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
    va_list ap;
    va_start(ap, info);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return ready() ? fn.easy_getinfo(c, info, arg) : CURLE_FAILED_INIT;
}

const char *curl_easy_strerror(CURLcode code)
{
    return ready() ? fn.easy_strerror(code) : "libcurl is not installed";
}

void curl_easy_cleanup(CURL *c)
{
    if (ready())
        fn.easy_cleanup(c);
}

char *curl_easy_escape(CURL *c, const char *s, int len)
{
    return ready() ? fn.easy_escape(c, s, len) : NULL;
}

void curl_free(void *p)
{
    if (ready())
        fn.free(p);
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
    return ready() ? fn.slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l)
{
    if (ready())
        fn.slist_free_all(l);
}
