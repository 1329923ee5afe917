/* envelope.h — the gProfiler upload body: gzip'd JSON {start_time, end_time, hostname, profile,
 * cpu_avg, mem_avg, spawn_time, gpid} whose profile is "# {header}" + collapsed lines. Pure
 * parsing, validation and token scrubbing; shared by the /api/v2/profiles handler and the fuzz
 * target. */
#ifndef GPROF_COORD_API_ENVELOPE_H
#define GPROF_COORD_API_ENVELOPE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/profile.h"

struct upload_envelope {
    int64_t start_time, end_time, spawn_time; /* Unix seconds; spawn 0 when absent */
    char hostname[256];                       /* body "hostname", else header metadata.hostname */
    double cpu_avg, mem_avg;                  /* -1 when absent/null */
    int64_t gpid;                             /* 0 when "" / absent */
    bool continuous;                          /* header metadata.run_arguments.continuous */
    char service_hint[256];                   /* header metadata.run_arguments.service_name */
    /* The profile text to store: the header line re-serialised without secrets, then the
     * stack lines exactly as uploaded. malloc'd (NULL, see ENVELOPE_TEXT_IF_CHANGED). */
    char *text;
    size_t text_len;
    size_t stack_lines;
    uint64_t samples;
    /* An ad hoc flame graph HTML carried in the header (flamegraph_html), removed from the
     * stored header; malloc'd, NULL when absent. */
    char *flamegraph_html;
    size_t flamegraph_html_len;
    /* The PerfSpect report (header "htmlblob": base64 of gzip'd HTML), removed from the stored
     * header and kept beside the profile; malloc'd base64 text, NULL when absent. */
    char *htmlblob;
    size_t htmlblob_len;
    size_t scrubbed; /* how many token fields were removed */
};

#define ENVELOPE_MAX_DEPTH 64

/* Parses and validates the decompressed JSON body. Errors (all -EINVAL, message for a 400):
 * malformed JSON with its offset, missing/mistyped fields, a profile without a "# {json}"
 * header, a bad header, a malformed collapsed line (with its line number). */
int envelope_parse(const char *body, size_t len, struct upload_envelope *out, struct gp_err *err);
/* envelope_parse with flags. ENVELOPE_TEXT_IF_CHANGED: build text only when the stored header
 * differs from the uploaded one (a secret scrubbed, flamegraph_html or htmlblob removed); text
 * is NULL otherwise, for a caller that stores the body as received. Same checks and errors. */
#define ENVELOPE_TEXT_IF_CHANGED 1u
int envelope_parse_ex(const char *body, size_t len, unsigned flags, struct upload_envelope *out,
                      struct gp_err *err);
void envelope_free(struct upload_envelope *e);

/* Removes every key containing "token" (case-insensitive) from o and nested objects, plus
 * "key"/"api_key"/"password"; returns how many were removed. */
size_t envelope_scrub_secrets(json_object *o);

/* Parses JSON text with a depth limit; the message names the offset of the problem. */
json_object *json_parse_strict(const char *text, size_t len, int max_depth, struct gp_err *err);

#endif
