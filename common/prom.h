/* prom.h — the Prometheus text exposition format (version 0.0.4) written into a strbuf: HELP and
 * TYPE lines, samples with escaped label values, histograms; shared by coordinator and agent. */
#ifndef GPROF_COMMON_PROM_H
#define GPROF_COMMON_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A label: name (a valid Prometheus label name, from the code) and any value (escaped). */
struct prom_label {
    const char *name, *value;
};

/* "# HELP name help\n# TYPE name type\n"; type is counter, gauge or histogram. */
void prom_family(struct strbuf *sb, const char *name, const char *type, const char *help);
/* "name{l1="v1",...} value\n" (no braces without labels); integer and real values. */
void prom_u64(struct strbuf *sb, const char *name, const struct prom_label *labels, size_t n,
              uint64_t value);
void prom_f64(struct strbuf *sb, const char *name, const struct prom_label *labels, size_t n,
              double value);
/* One histogram's series: name_bucket{...,le="b"} cumulative counts for each upper bound (then
 * le="+Inf" = count), name_sum and name_count. counts[i] are the observations in bucket i alone
 * (nbounds + 1 of them, the last above every bound). */
void prom_histogram(struct strbuf *sb, const char *name, const struct prom_label *labels, size_t n,
                    const double *bounds, size_t nbounds, const uint64_t *counts, double sum);

#endif
