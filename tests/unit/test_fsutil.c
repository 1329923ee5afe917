/* test_fsutil.c — the shared atomic writer and the sweep of temp files a crash left (issue 10
 * #15, #16): the writer never follows or reuses a planted name and replaces a symlink at the
 * target instead of writing through it; the sweep removes temp files of pids that are gone (and
 * old ones), keeps a live writer's, and never touches other files or other users' files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fsutil.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/gprof-fsutil-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *name, const char *text, time_t age_s)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    if (age_s) {
        struct timeval tv[2];
        gettimeofday(&tv[0], NULL);
        tv[0].tv_sec -= age_s;
        tv[1] = tv[0];
        assert_int_equal(utimes(p, tv), 0);
    }
}

static int exists(const char *name)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return lstat(p, &st) == 0;
}

static char *slurp(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Entries of dir whose name ends with .tmp. */
static int count_tmp(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        n += l > 4 && !strcmp(e->d_name + l - 4, ".tmp");
    }
    closedir(d);
    return n;
}

static long dead_pid(void)
{
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    return (long)p;
}

static void test_atomic_write(void **state)
{
    (void)state;
    char out[128], victim[128];
    snprintf(out, sizeof(out), "%s/out.col", dir);
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    put("victim", "precious\n", 0);
    /* the target is a symlink someone planted: it is replaced, not written through */
    assert_int_equal(symlink(victim, out), 0);
    assert_int_equal(gp_atomic_write(out, "profile\n", 8, 0644), 0);
    assert_string_equal(slurp(victim), "precious\n");
    struct stat st;
    assert_int_equal(lstat(out, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0644 & ~umask(022));
    assert_string_equal(slurp(out), "profile\n");
    assert_int_equal(count_tmp(), 0);

    /* the temp name: beside the target, hidden, with the pid, unpredictable */
    struct gp_atomic_file a, b;
    assert_int_equal(gp_atomic_open(&a, out, 0600), 0);
    assert_int_equal(gp_atomic_open(&b, out, 0600), 0);
    assert_string_not_equal(a.tmp, b.tmp);
    char prefix[160];
    snprintf(prefix, sizeof(prefix), "%s/.out.col.%ld.", dir, (long)getpid());
    assert_memory_equal(a.tmp, prefix, strlen(prefix));
    long pid;
    assert_int_equal(gp_tmp_name_pid(strrchr(a.tmp, '/') + 1, 0, &pid), 1);
    assert_int_equal(pid, (long)getpid());
    gp_atomic_abort(&b);
    assert_int_equal(gp_write_all(a.fd, "x", 1), 0);
    assert_int_equal(gp_atomic_commit(&a), 0);
    assert_string_equal(slurp(out), "x");
    assert_int_equal(count_tmp(), 0);

    /* a 250-byte name: the temp name still fits in NAME_MAX */
    char longp[400];
    snprintf(longp, sizeof(longp), "%s/%0250d", dir, 7);
    assert_int_equal(gp_atomic_write(longp, "y", 1, 0600), 0);
    assert_string_equal(slurp(longp), "y");
    unlink(longp);

    /* no directory: an error, nothing created */
    char bad[160];
    snprintf(bad, sizeof(bad), "%s/nodir/out.col", dir);
    assert_int_equal(gp_atomic_write(bad, "x", 1, 0644), -ENOENT);
}

/* gp_atomic_openat (the fs blob engine's writer): names relative to a directory fd, the temp
 * file beside the target in that directory, a planted symlink replaced, failures leave nothing */
static void test_atomic_openat(void **state)
{
    (void)state;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    char victim[128];
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    put("victim", "precious\n", 0);
    assert_int_equal(symlinkat(victim, dfd, "blob.gz"), 0);
    struct gp_atomic_file f;
    assert_int_equal(gp_atomic_openat(&f, dfd, "blob.gz", 0640), 0);
    long pid;
    assert_int_equal(gp_tmp_name_pid(f.tmp, 0, &pid), 1); /* a sweepable name, no directory */
    assert_int_equal(pid, (long)getpid());
    assert_int_equal(gp_write_all(f.fd, "data", 4), 0);
    assert_int_equal(gp_atomic_commit(&f), 0);
    char out[160];
    snprintf(out, sizeof(out), "%s/blob.gz", dir);
    assert_string_equal(slurp(out), "data");
    assert_string_equal(slurp(victim), "precious\n");
    struct stat st;
    assert_int_equal(fstatat(dfd, "blob.gz", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_true(S_ISREG(st.st_mode));
    /* abort removes the temp file from the directory */
    assert_int_equal(gp_atomic_openat(&f, dfd, "other", 0640), 0);
    gp_atomic_abort(&f);
    assert_int_equal(count_tmp(), 0);
    assert_int_equal(faccessat(dfd, "other", F_OK, 0), -1);
    close(dfd);
}

static void test_tmp_names(void **state)
{
    (void)state;
    long pid;
    assert_int_equal(gp_tmp_name_pid(".a.col.123.7.tmp", 0, &pid), 1);
    assert_int_equal(pid, 123);
    assert_int_equal(gp_tmp_name_pid(".x.json.gz.99.00ff12ab34cd56ef.tmp", 0, &pid), 1);
    assert_int_equal(pid, 99);
    assert_int_equal(gp_tmp_name_pid("profile.col.tmp", 0, &pid), 0); /* plain: only on request */
    assert_int_equal(gp_tmp_name_pid("profile.col.tmp", GP_SWEEP_PLAIN, &pid), 1);
    assert_int_equal(pid, 0);
    assert_int_equal(gp_tmp_name_pid("kallsyms.42.tmp", GP_SWEEP_PLAIN, &pid), 1);
    assert_int_equal(pid, 42);
    assert_int_equal(gp_tmp_name_pid("profile.col", GP_SWEEP_PLAIN, &pid), 0);
    assert_int_equal(gp_tmp_name_pid(".tmp", GP_SWEEP_PLAIN, &pid), 0);
    assert_int_equal(gp_tmp_name_pid("..1.2.tmp", 0, &pid), 0);     /* no NAME */
    assert_int_equal(gp_tmp_name_pid(".a.x1.2.tmp", 0, &pid), 0);   /* not a pid */
    assert_int_equal(gp_tmp_name_pid("a.col.1.2.tmp", 0, &pid), 0); /* not hidden */
}

static void test_sweep(void **state)
{
    (void)state;
    long dead = dead_pid(), me = (long)getpid();
    char n1[64], n2[64], n3[64], n4[64], n5[64];
    snprintf(n1, sizeof(n1), ".a.col.%ld.1.tmp", dead);          /* crashed writer */
    snprintf(n2, sizeof(n2), ".b.col.%ld.2.tmp", me);            /* live writer */
    snprintf(n3, sizeof(n3), ".c.col.%ld.3.tmp", me);            /* live pid, but 7 h old */
    snprintf(n4, sizeof(n4), "sub/.d.col.%ld.4.tmp", dead);      /* one level down */
    snprintf(n5, sizeof(n5), "sub/sub2/.e.col.%ld.5.tmp", dead); /* two levels down */
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/sub/sub2", dir);
    assert_int_equal(gp_mkdir_p(sub, 0700), 0);
    put(n1, "x", 0);
    put(n2, "x", 0);
    put(n3, "x", 7 * 3600);
    put(n4, "x", 0);
    put(n5, "x", 0);
    put("old.col.tmp", "x", 7 * 3600); /* plain, old */
    put("new.col.tmp", "x", 0);        /* plain, fresh: may be a live single-instance writer */
    put("profile.col", "x", 7 * 3600); /* not a temp file */
    char ln[128], target[128];
    snprintf(target, sizeof(target), "%s/profile.col", dir);
    snprintf(ln, sizeof(ln), "%s/.f.col.%ld.6.tmp", dir, dead); /* a symlink: left alone */
    assert_int_equal(symlink(target, ln), 0);

    size_t removed = 99;
    assert_int_equal(gp_tmp_sweep(dir, 1, 0, &removed), 0);
    assert_int_equal(removed, 3); /* n1, n3, n4 */
    assert_false(exists(n1));
    assert_true(exists(n2));
    assert_false(exists(n3));
    assert_false(exists(n4));
    assert_true(exists(n5)); /* deeper than asked */
    assert_true(exists("old.col.tmp"));
    assert_true(exists("profile.col"));
    assert_true(exists(strrchr(ln, '/') + 1));

    assert_int_equal(gp_tmp_sweep(dir, 2, GP_SWEEP_PLAIN, &removed), 0);
    assert_int_equal(removed, 2); /* n5 and old.col.tmp */
    assert_false(exists(n5));
    assert_false(exists("old.col.tmp"));
    assert_true(exists("new.col.tmp"));
    assert_true(exists(n2));

    /* a directory that does not exist: nothing to do */
    char none[128];
    snprintf(none, sizeof(none), "%s/none", dir);
    assert_int_equal(gp_tmp_sweep(none, 1, 0, &removed), 0);
    assert_int_equal(removed, 0);
}

static void test_sweep_other_owner(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    long dead = dead_pid();
    char n[64], p[160];
    snprintf(n, sizeof(n), ".g.col.%ld.1.tmp", dead);
    put(n, "x", 0);
    snprintf(p, sizeof(p), "%s/%s", dir, n);
    assert_int_equal(chown(p, 65534, 65534), 0);
    size_t removed;
    assert_int_equal(gp_tmp_sweep(dir, 0, 0, &removed), 0);
    assert_int_equal(removed, 0);
    assert_true(exists(n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_atomic_write, setup, teardown),
            cmocka_unit_test_setup_teardown(test_atomic_openat, setup, teardown),
            cmocka_unit_test(test_tmp_names),
            cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
            cmocka_unit_test_setup_teardown(test_sweep_other_owner, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
