/* config.c — key = value settings with per-key source precedence. */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cfg_item {
    char *key;
    char *value;
    enum gp_config_src src;
};

struct gp_config {
    struct cfg_item *items;
    size_t n, cap;
};

struct gp_config *gp_config_new(void)
{
    return calloc(1, sizeof(struct gp_config));
}

void gp_config_free(struct gp_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->items[i].key);
        free(c->items[i].value);
    }
    free(c->items);
    free(c);
}

static int normalize_key(const char *in, char *out, size_t outsz)
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        char ch = *p;
        if (ch == '-')
            ch = '_';
        ch = (char)tolower((unsigned char)ch);
        if (!(isalnum((unsigned char)ch) || ch == '_' || ch == '.'))
            return -EINVAL;
        if (n + 1 >= outsz)
            return -EINVAL;
        out[n++] = ch;
    }
    if (n == 0)
        return -EINVAL;
    out[n] = '\0';
    return 0;
}

static struct cfg_item *find(const struct gp_config *c, const char *nkey)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->items[i].key, nkey) == 0)
            return &c->items[i];
    return NULL;
}

static int is_known(const char *nkey, const char *const *known)
{
    if (!known)
        return 1;
    for (; *known; known++)
        if (strcmp(*known, nkey) == 0)
            return 1;
    return 0;
}

int gp_config_set(struct gp_config *c, const char *key, const char *value, enum gp_config_src src,
                  struct gp_err *err)
{
    char nkey[128];
    if (normalize_key(key, nkey, sizeof(nkey)) != 0)
        return gp_err_set(err, -EINVAL, "invalid setting name '%s' (letters, digits, '_' only)",
                          key);
    struct cfg_item *it = find(c, nkey);
    if (it && it->src > src)
        return 0;
    char *v = strdup(value ? value : "");
    if (!v)
        return gp_err_set(err, -ENOMEM, "out of memory storing setting %s", nkey);
    if (it) {
        free(it->value);
        it->value = v;
        it->src = src;
        return 0;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct cfg_item *ni = realloc(c->items, cap * sizeof(*ni));
        if (!ni) {
            free(v);
            return gp_err_set(err, -ENOMEM, "out of memory storing setting %s", nkey);
        }
        c->items = ni;
        c->cap = cap;
    }
    char *k = strdup(nkey);
    if (!k) {
        free(v);
        return gp_err_set(err, -ENOMEM, "out of memory storing setting %s", nkey);
    }
    c->items[c->n++] = (struct cfg_item){k, v, src};
    return 0;
}

static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int gp_config_parse_text(struct gp_config *c, const char *text, const char *name,
                         const char *const *known, struct gp_err *err)
{
    char *copy = strdup(text);
    if (!copy)
        return gp_err_set(err, -ENOMEM, "out of memory reading %s", name);
    int rc = 0, lineno = 0;
    char *save = NULL;
    for (char *line = copy, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        (void)save;
        char *l = trim(line);
        if (*l == '\0' || *l == '#')
            continue;
        char *eq = strchr(l, '=');
        if (!eq) {
            rc = gp_err_set(err, -EINVAL, "%s:%d: expected 'key = value', got '%.80s'", name,
                            lineno, l);
            break;
        }
        *eq = '\0';
        char *key = trim(l), *val = trim(eq + 1);
        if (*val == '"') {
            char *end = strrchr(val + 1, '"');
            if (!end) {
                rc = gp_err_set(err, -EINVAL, "%s:%d: unterminated quoted value for '%s'", name,
                                lineno, key);
                break;
            }
            *end = '\0';
            val++;
        } else {
            /* strip a trailing comment: '#' preceded by whitespace */
            for (char *p = val; *p; p++) {
                if (*p == '#' && p > val && isspace((unsigned char)p[-1])) {
                    *p = '\0';
                    val = trim(val);
                    break;
                }
            }
        }
        char nkey[128];
        if (normalize_key(key, nkey, sizeof(nkey)) != 0) {
            rc = gp_err_set(err, -EINVAL, "%s:%d: invalid setting name '%.80s'", name, lineno, key);
            break;
        }
        if (!is_known(nkey, known)) {
            rc = gp_err_set(err, -EINVAL,
                            "%s:%d: unknown setting '%s' (see the README for the list)", name,
                            lineno, nkey);
            break;
        }
        rc = gp_config_set(c, nkey, val, GP_CFG_FILE, err);
        if (rc)
            break;
    }
    free(copy);
    return rc;
}

int gp_config_load_file(struct gp_config *c, const char *path, const char *const *known,
                        struct gp_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return gp_err_set(err, -errno, "cannot open config file %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t r;
    while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + r + 1 > cap) {
            size_t ncap = (cap ? cap * 2 : 8192) + r;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                return gp_err_set(err, -ENOMEM, "out of memory reading %s", path);
            }
            buf = nb;
            cap = ncap;
        }
        memcpy(buf + len, chunk, r);
        len += r;
    }
    int ferr = ferror(f);
    fclose(f);
    if (ferr) {
        free(buf);
        return gp_err_set(err, -EIO, "cannot read config file %s", path);
    }
    if (!buf)
        return 0;
    buf[len] = '\0';
    if (memchr(buf, '\0', len)) {
        free(buf);
        return gp_err_set(err, -EINVAL, "config file %s contains a NUL byte; is it text?", path);
    }
    int rc = gp_config_parse_text(c, buf, path, known, err);
    free(buf);
    return rc;
}

int gp_config_load_env(struct gp_config *c, const char *prefix, const char *const *known,
                       struct gp_err *err)
{
    if (!known)
        return 0;
    for (; *known; known++) {
        char name[160];
        size_t pl = strlen(prefix), i;
        if (pl + strlen(*known) + 1 > sizeof(name))
            continue;
        memcpy(name, prefix, pl);
        for (i = 0; (*known)[i]; i++) {
            char ch = (*known)[i];
            name[pl + i] = ch == '.' ? '_' : (char)toupper((unsigned char)ch);
        }
        name[pl + i] = '\0';
        const char *v = getenv(name);
        if (v) {
            int rc = gp_config_set(c, *known, v, GP_CFG_ENV, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

const char *gp_config_get(const struct gp_config *c, const char *key)
{
    char nkey[128];
    if (!c || normalize_key(key, nkey, sizeof(nkey)) != 0)
        return NULL;
    struct cfg_item *it = find(c, nkey);
    return it ? it->value : NULL;
}

enum gp_config_src gp_config_source(const struct gp_config *c, const char *key)
{
    char nkey[128];
    if (!c || normalize_key(key, nkey, sizeof(nkey)) != 0)
        return GP_CFG_DEFAULT;
    struct cfg_item *it = find(c, nkey);
    return it ? it->src : GP_CFG_DEFAULT;
}

int gp_config_get_i64(const struct gp_config *c, const char *key, int64_t def, int64_t min,
                      int64_t max, int64_t *out, struct gp_err *err)
{
    const char *v = gp_config_get(c, key);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end != '\0')
        return gp_err_set(err, -EINVAL, "setting %s: '%s' is not an integer", key, v);
    if (x < min || x > max)
        return gp_err_set(err, -ERANGE, "setting %s: %lld is out of range [%lld, %lld]", key, x,
                          (long long)min, (long long)max);
    *out = x;
    return 0;
}

int gp_parse_bool(const char *s, int *out)
{
    static const char *yes[] = {"1", "true", "yes", "on", NULL};
    static const char *no[] = {"0", "false", "no", "off", NULL};
    for (int i = 0; yes[i]; i++)
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
    for (int i = 0; no[i]; i++)
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    return -EINVAL;
}

int gp_config_get_bool(const struct gp_config *c, const char *key, int def, int *out,
                       struct gp_err *err)
{
    const char *v = gp_config_get(c, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (gp_parse_bool(v, out) != 0)
        return gp_err_set(err, -EINVAL, "setting %s: '%s' is not a boolean (use on/off)", key, v);
    return 0;
}

int gp_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -EINVAL;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s)
        return -EINVAL;
    while (*end == ' ')
        end++;
    uint64_t mul = 1;
    if (*end) {
        char u = (char)toupper((unsigned char)*end);
        if (u == 'K')
            mul = 1024ULL;
        else if (u == 'M')
            mul = 1024ULL * 1024;
        else if (u == 'G')
            mul = 1024ULL * 1024 * 1024;
        else if (u != 'B')
            return -EINVAL;
        end++;
        if (u != 'B' && (strcasecmp(end, "ib") == 0 || strcasecmp(end, "b") == 0))
            end += strlen(end);
        if (*end)
            return -EINVAL;
    }
    if (x > UINT64_MAX / mul)
        return -ERANGE;
    *out = x * mul;
    return 0;
}

int gp_config_get_size(const struct gp_config *c, const char *key, uint64_t def, uint64_t *out,
                       struct gp_err *err)
{
    const char *v = gp_config_get(c, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (gp_parse_size(v, out) != 0)
        return gp_err_set(err, -EINVAL, "setting %s: '%s' is not a size (e.g. 4194304, 4MiB)", key,
                          v);
    return 0;
}
