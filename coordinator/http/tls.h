/* tls.h — the coordinator's server certificate: PEM files loaded with GnuTLS, handed to every
 * new TLS handshake through libmicrohttpd's certificate callback, swapped on reload (SIGHUP). */
#ifndef GPROF_COORD_HTTP_TLS_H
#define GPROF_COORD_HTTP_TLS_H

#include "common/err.h"

struct http_tls;

/* Loads cert (PEM, leaf first, then any intermediates) and key (PEM); checks that they belong
 * together. One http_tls per process: the MHD callback has no context pointer. */
int http_tls_open(const char *cert_file, const char *key_file, struct http_tls **out,
                  struct gp_err *err);
/* Reads both files again; on success new handshakes get the new certificate, handshakes done
 * keep theirs (every loaded pair stays in memory until http_tls_free). On error the current
 * certificate stays. */
int http_tls_reload(struct http_tls *t, struct gp_err *err);
/* After the daemon has stopped. NULL is a no-op. */
void http_tls_free(struct http_tls *t);
/* The callback for MHD_OPTION_HTTPS_CERT_CALLBACK (gnutls_certificate_retrieve_function2). */
void *http_tls_mhd_callback(void);

#endif
