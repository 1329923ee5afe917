/* curl_tls.h — how gprof's HTTP clients (agent, gprofctl) trust a coordinator: the CA file or
 * the system store, or no verification at all; the one place every libcurl handle gets them. */
#ifndef GPROF_COMMON_CURL_TLS_H
#define GPROF_COMMON_CURL_TLS_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

/* Process-wide, set at start-up (and on the agent's SIGHUP) before requests run. ca_file NULL
 * or "" = the system store; no_verify = accept any certificate (logged loudly once by the
 * caller: gp_curl_tls_warn). The strings are copied. */
void gp_curl_tls_set(const char *ca_file, bool no_verify);
/* Logs the --no-verify warning (every call; call once per start or reload). */
void gp_curl_tls_warn(const char *who);

/* A new easy handle with the TLS settings above, NOSIGNAL and the connect timeout applied;
 * NULL when libcurl cannot make one. */
CURL *gp_curl_handle(void);

/* A message for a failed transfer: libcurl's text, and for certificate failures what to do
 * (--ca-file, --no-verify). */
void gp_curl_describe(CURLcode cc, char *buf, size_t len);

#endif
