/* config.h — generic settings: `key = value` files with `#` comments, GPROF_* environment
 * variables and command-line flags, merged with precedence flag > env > file > default. */
#ifndef GPROF_COMMON_CONFIG_H
#define GPROF_COMMON_CONFIG_H

#include <stdint.h>

#include "common/err.h"

enum gp_config_src { GP_CFG_DEFAULT = 0, GP_CFG_FILE = 1, GP_CFG_ENV = 2, GP_CFG_FLAG = 3 };

struct gp_config;

struct gp_config *gp_config_new(void);
void gp_config_free(struct gp_config *c);

/* Sets key (normalized: lowercase, '-' -> '_') unless a higher-precedence source already set it.
 * Returns 0 or -ENOMEM / -EINVAL (empty or malformed key). */
int gp_config_set(struct gp_config *c, const char *key, const char *value, enum gp_config_src src,
                  struct gp_err *err);
/* Parses `key = value` lines; `#` starts a comment at line start or after whitespace; values may
 * be double-quoted. Keys not in known (NULL-terminated list, may be NULL = accept all) are an
 * error naming the file and line, so typos don't pass silently. */
int gp_config_parse_text(struct gp_config *c, const char *text, const char *name,
                         const char *const *known, struct gp_err *err);
int gp_config_load_file(struct gp_config *c, const char *path, const char *const *known,
                        struct gp_err *err);
/* For every known key, reads <prefix><KEY uppercased> from the environment (e.g. GPROF_LISTEN). */
int gp_config_load_env(struct gp_config *c, const char *prefix, const char *const *known,
                       struct gp_err *err);

/* Value or NULL when unset. */
const char *gp_config_get(const struct gp_config *c, const char *key);
enum gp_config_src gp_config_source(const struct gp_config *c, const char *key);
/* Typed getters: def when unset; a malformed or out-of-range value is an error naming the key. */
int gp_config_get_i64(const struct gp_config *c, const char *key, int64_t def, int64_t min,
                      int64_t max, int64_t *out, struct gp_err *err);
int gp_config_get_bool(const struct gp_config *c, const char *key, int def, int *out,
                       struct gp_err *err);
/* Sizes accept a plain byte count or a K/M/G suffix (KiB, MiB, GiB; powers of 1024). */
int gp_config_get_size(const struct gp_config *c, const char *key, uint64_t def, uint64_t *out,
                       struct gp_err *err);

/* Parsers shared with the getters (0 or -EINVAL). */
int gp_parse_bool(const char *s, int *out);
int gp_parse_size(const char *s, uint64_t *out);

#endif
