/* results.c — local session results with rotation. */
#include "agent/results.h"
#include "common/collapsed.h"
#include "common/fsutil.h"
#include "common/html.h"
#include "common/log.h"
#include "common/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int gp_results_open(struct gp_results *r, const char *state_dir, unsigned keep, struct gp_err *err)
{
    snprintf(r->dir, sizeof(r->dir), "%s/results", state_dir);
    r->keep = keep ? keep : 60;
    int rc = gp_mkdir_p(r->dir, 0750);
    if (rc)
        return gp_err_set(err, rc, "cannot create %s: %s (set state_dir to a writable place)",
                          r->dir, strerror(-rc));
    return 0;
}

static int write_atomic(const char *path, const char *data, size_t len, struct gp_err *err)
{
    int rc = gp_atomic_write(path, data, len, 0640);
    if (rc)
        return gp_err_set(err, rc, "cannot save %s: %s", path, strerror(-rc));
    return 0;
}

static void relink(const char *dir, const char *target, const char *name)
{
    char link[4200], tmp[4300];
    snprintf(link, sizeof(link), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", link);
    unlink(tmp);
    const char *base = strrchr(target, '/');
    if (symlink(base ? base + 1 : target, tmp) != 0 || rename(tmp, link) != 0)
        gp_warn("cannot update %s: %s", link, strerror(errno));
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removes the oldest profile_* pairs beyond keep (names sort by time). */
static void rotate(struct gp_results *r)
{
    DIR *d = opendir(r->dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, "profile_", 8) || l < 5 || strcmp(e->d_name + l - 4, ".col"))
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*nn));
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strndup(e->d_name, l - 4)))
            break;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i + r->keep < n; i++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s.col", r->dir, names[i]);
        unlink(path);
        snprintf(path, sizeof(path), "%s/%s.html", r->dir, names[i]);
        unlink(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static time_t header_time(json_object *h, const char *key)
{
    json_object *md = json_object_object_get(h, "metadata");
    const char *s = json_object_get_string(json_object_object_get(md, key));
    int64_t t;
    if (tu_parse(s, &t) < 0)
        return time(NULL);
    return (time_t)t;
}

static void new_uuid(char *buf, size_t len)
{
    FILE *f = fopen("/proc/sys/kernel/random/uuid", "re");
    if (!f || !fgets(buf, (int)len, f))
        snprintf(buf, len, "%lx-%lx", (long)time(NULL), (long)getpid());
    if (f)
        fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

int gp_results_render(struct gp_results *r, struct gp_profile *p, struct strbuf *col,
                      struct strbuf *html, struct gp_result_paths *out, struct gp_err *err)
{
    json_object *h = gp_profile_header(p);
    out->start = header_time(h, "start_time");
    out->end = header_time(h, "end_time");
    new_uuid(out->id, sizeof(out->id));
    char stamp[32];
    struct tm tm;
    gmtime_r(&out->end, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(out->col, sizeof(out->col), "%s/profile_%s.col", r->dir, stamp);
    snprintf(out->html, sizeof(out->html), "%s/profile_%s.html", r->dir, stamp);
    /* two sessions ending in the same second (a restart mid-session) keep both */
    for (int k = 2; access(out->col, F_OK) == 0 && k < 100; k++) {
        snprintf(out->col, sizeof(out->col), "%s/profile_%s-%d.col", r->dir, stamp, k);
        snprintf(out->html, sizeof(out->html), "%s/profile_%s-%d.html", r->dir, stamp, k);
    }
    int rc = gp_collapsed_write(p, col, err);
    if (!rc)
        rc = gp_html_write(p, "gprof · continuous profile", html, err);
    return rc;
}

int gp_results_keep(struct gp_results *r, const struct gp_result_paths *out, struct strbuf *col,
                    const struct strbuf *html, struct gp_err *err)
{
    /* the file ends with a newline like any text file; the upload, as gProfiler sends it, not */
    if (sb_putc(col, '\n'))
        return gp_err_set(err, -ENOMEM, "out of memory keeping the session");
    int rc = write_atomic(out->col, col->buf, col->len, err);
    col->buf[--col->len] = '\0';
    if (!rc)
        rc = write_atomic(out->html, html->buf ? html->buf : "", html->len, err);
    if (rc)
        return rc;
    relink(r->dir, out->col, "last_profile.col");
    relink(r->dir, out->html, "last_flamegraph.html");
    rotate(r);
    return 0;
}

void gp_results_close(struct gp_results *r)
{
    (void)r;
}
