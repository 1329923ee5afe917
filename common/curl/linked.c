/* linked.c — gp_curl for programs linked with libcurl (gprof-agent, tests): its own functions. */
#include "common/curl.h"

const struct gp_curl_api gp_curl = {
        .global_init = curl_global_init,
        .global_cleanup = curl_global_cleanup,
        .easy_init = curl_easy_init,
        .easy_setopt = curl_easy_setopt,
        .easy_perform = curl_easy_perform,
        .easy_getinfo = curl_easy_getinfo,
        .easy_strerror = curl_easy_strerror,
        .easy_reset = curl_easy_reset,
        .easy_cleanup = curl_easy_cleanup,
        .easy_escape = curl_easy_escape,
        .free = curl_free,
        .slist_append = curl_slist_append,
        .slist_free_all = curl_slist_free_all,
};
