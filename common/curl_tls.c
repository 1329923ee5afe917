/* curl_tls.c — TLS trust of gprof's HTTP clients (see curl_tls.h). */
#include "common/curl_tls.h"
#include "common/curl.h"
#include "common/log.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static char ca_path[PATH_MAX];
static bool insecure;

void gp_curl_tls_set(const char *ca_file, bool no_verify)
{
    snprintf(ca_path, sizeof(ca_path), "%s", ca_file ? ca_file : "");
    insecure = no_verify;
}

void gp_curl_tls_warn(const char *who)
{
    if (insecure)
        gp_warn("%s: --no-verify: TLS CERTIFICATES ARE NOT VERIFIED. Anyone between this host "
                "and the coordinator can read and change the traffic, tokens included. Use "
                "--ca-file FILE with the coordinator's CA instead.",
                who);
}

CURL *gp_curl_handle(void)
{
    CURL *c = gp_curl.easy_init();
    if (!c)
        return NULL;
    gp_curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    gp_curl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    /* the coordinator speaks HTTP/1.1; never follow a redirect elsewhere with our token */
    gp_curl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (insecure) {
        gp_curl.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        gp_curl.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        gp_curl.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        gp_curl.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (ca_path[0])
            gp_curl.easy_setopt(c, CURLOPT_CAINFO, ca_path);
    }
    return c;
}

void gp_curl_describe(CURLcode cc, char *buf, size_t len)
{
    const char *what = gp_curl.easy_strerror(cc);
    switch (cc) {
    case CURLE_PEER_FAILED_VERIFICATION:
#if LIBCURL_VERSION_NUM < 0x073e00
    case CURLE_SSL_CACERT:
#endif
        snprintf(buf, len,
                 "%s: the coordinator's TLS certificate is not trusted by %s. Give the CA that "
                 "signed it with --ca-file FILE (config ca_file), check the name or IP in the "
                 "URL is in the certificate, or (insecure) --no-verify",
                 what, ca_path[0] ? ca_path : "the system CA store");
        break;
    case CURLE_SSL_CACERT_BADFILE:
        snprintf(buf, len, "%s: cannot read the CA file %s (--ca-file)", what,
                 ca_path[0] ? ca_path : "(system store)");
        break;
    case CURLE_SSL_CONNECT_ERROR:
        snprintf(buf, len,
                 "%s (is the coordinator serving HTTPS on that port? http:// vs https://)", what);
        break;
    default:
        snprintf(buf, len, "%s", what);
    }
}
