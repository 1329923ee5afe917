/* curl.h — libcurl under our own names: gp_curl, a table of the libcurl functions gprof calls.
 * Each program links one provider: gprof-curl (libcurl linked) or gprof-curl-lazy (dlopen). */
#ifndef GPROF_COMMON_CURL_H
#define GPROF_COMMON_CURL_H

#include <curl/curl.h>

struct gp_curl_api {
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    /* setopt and getinfo take one long, pointer or curl_off_t after the option, as libcurl's */
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    void (*easy_reset)(CURL *);
    void (*easy_cleanup)(CURL *);
    char *(*easy_escape)(CURL *, const char *, int);
    void (*free)(void *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
};

/* Defined by the provider the program links (common/curl/linked.c or common/curl/lazy.c).
 * Without libcurl (lazy provider) calls fail as libcurl reports failure: NULL handles,
 * CURLE_FAILED_INIT. */
extern const struct gp_curl_api gp_curl;

#endif
