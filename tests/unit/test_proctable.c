/* test_proctable.c — the agent's process table: identity and maps of real child processes, and
 * what its listeners hear (seen, exec, exited, dropped), in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/procs/proctable.h"

struct heard {
    struct gp_proctable *t;
    int id;
    int seen, execs, exited, dropped;
    int found_while_dropped; /* gp_proctable_find() still answered inside dropped() */
    int data_while_dropped;  /* and our data slot was still attached */
    uint32_t last_tgid;
    size_t last_nmaps;
};

static int marker = 42; /* what the listener attaches */

static void on_seen(void *ctx, const struct gp_proc *p, int is_exec)
{
    struct heard *h = ctx;
    h->seen++;
    h->execs += is_exec;
    h->last_tgid = p->tgid;
    h->last_nmaps = p->maps.n;
    gp_proc_set_data(p, h->id, &marker);
}

static void on_exited(void *ctx, const struct gp_proc *p)
{
    struct heard *h = ctx;
    h->exited++;
    h->last_tgid = p->tgid;
    assert_true(p->exited);
}

static void on_dropped(void *ctx, uint32_t tgid)
{
    struct heard *h = ctx;
    h->dropped++;
    h->last_tgid = tgid;
    const struct gp_proc *p = gp_proctable_find(h->t, tgid);
    h->found_while_dropped += p != NULL;
    h->data_while_dropped += p && gp_proc_data(p, h->id) == &marker;
}

static int add(struct gp_proctable *t, struct heard *h)
{
    memset(h, 0, sizeof(*h));
    h->t = t;
    struct gp_proctable_listener l = {
            .ctx = h, .seen = on_seen, .exited = on_exited, .dropped = on_dropped};
    /* the id is known before the first call: listeners get ids in order from 0 */
    h->id = gp_proctable_add_listener(t, &l);
    return h->id;
}

/* A child that waits for a byte (or EOF) on fd. */
static pid_t child(int *wfd)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[1]);
        char c;
        ssize_t n = read(p[0], &c, 1);
        _exit(n < 0 ? 1 : 0);
    }
    close(p[0]);
    *wfd = p[1];
    return pid;
}

static void test_lifecycle(void **state)
{
    (void)state;
    struct gp_proctable *t;
    assert_int_equal(gp_proctable_new(&t), 0);
    struct heard h;
    assert_int_equal(add(t, &h), 0);
    int wfd;
    pid_t pid = child(&wfd);
    uint32_t tgid = (uint32_t)pid;

    assert_int_equal(gp_proctable_note(t, tgid, 0), 0);
    assert_int_equal(h.seen, 1);
    assert_int_equal(h.execs, 0);
    const struct gp_proc *p = gp_proctable_find(t, tgid);
    assert_non_null(p);
    assert_int_equal(p->tgid, tgid);
    assert_int_equal(p->nspid, tgid); /* same pid namespace */
    assert_int_equal(p->ppid, (uint32_t)getpid());
    assert_true(p->starttime > 0);
    assert_false(p->exited);
    assert_false(p->other_mntns);
    assert_string_equal(p->container_id, "");
    assert_true(p->maps.n > 0); /* this test binary and libc at least */
    assert_int_equal(h.last_nmaps, p->maps.n);
    for (size_t i = 0; i < p->maps.n; i++)
        assert_non_null(strchr(p->maps.v[i].perms, 'x')); /* executable mappings only */
    char comm[16];
    FILE *f = fopen("/proc/self/comm", "r");
    assert_non_null(f);
    assert_non_null(fgets(comm, sizeof(comm), f));
    fclose(f);
    comm[strcspn(comm, "\n")] = '\0';
    assert_string_equal(p->comm, comm);
    assert_ptr_equal(gp_proc_data(p, h.id), &marker);

    /* noted again (a young re-note, an exec): read again, heard again, same entry */
    assert_int_equal(gp_proctable_note(t, tgid, 1), 0);
    assert_int_equal(h.seen, 2);
    assert_int_equal(h.execs, 1);
    assert_ptr_equal(gp_proctable_find(t, tgid), p);
    assert_int_equal(gp_proctable_refresh_maps(t, tgid), 0);
    assert_int_equal(h.seen, 3);

    struct gp_proctable_stats st;
    gp_proctable_stats(t, &st);
    assert_int_equal(st.processes, 1);
    assert_int_equal(st.exited, 0);

    /* it exits: a zombie until reaped; the exit event marks it, the entry stays until gc */
    close(wfd);
    gp_proctable_exit(t, tgid);
    assert_int_equal(h.exited, 1);
    gp_proctable_exit(t, tgid); /* heard once */
    assert_int_equal(h.exited, 1);
    assert_int_equal(gp_proctable_note(t, tgid, 0), 0); /* the same process: snapshot kept */
    assert_int_equal(h.seen, 3);
    assert_int_equal(gp_proctable_refresh_maps(t, tgid), -ESRCH);
    p = gp_proctable_find(t, tgid);
    assert_non_null(p);
    assert_true(p->exited);
    assert_true(p->maps.n > 0);
    assert_string_equal(p->comm, comm);
    gp_proctable_stats(t, &st);
    assert_int_equal(st.exited, 1);

    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_int_equal(gp_proctable_note(t, tgid, 0), -ESRCH); /* an exited entry is not revived */

    gp_proctable_gc(t);
    assert_int_equal(h.dropped, 1);
    assert_int_equal(h.last_tgid, tgid);
    assert_int_equal(h.found_while_dropped, 1);
    assert_int_equal(h.data_while_dropped, 1);
    assert_null(gp_proctable_find(t, tgid));
    gp_proctable_stats(t, &st);
    assert_int_equal(st.processes, 0);
    assert_int_equal(st.exited, 0);

    /* gone before it was ever noted */
    assert_int_equal(gp_proctable_note(t, tgid, 0), -ESRCH);
    assert_int_equal(gp_proctable_refresh_maps(t, tgid), -ENOENT);
    gp_proctable_exit(t, tgid); /* unknown: ignored */
    assert_int_equal(h.exited, 1);
    gp_proctable_free(t);
    assert_int_equal(h.dropped, 1);
}

/* A process that dies without an exit event (a lost ring record) is found by the gc. */
static void test_vanished_without_exit(void **state)
{
    (void)state;
    struct gp_proctable *t;
    assert_int_equal(gp_proctable_new(&t), 0);
    struct heard h;
    add(t, &h);
    int wfd;
    pid_t pid = child(&wfd);
    assert_int_equal(gp_proctable_note(t, (uint32_t)pid, 0), 0);
    close(wfd);
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    int calls = 0;
    while (!h.exited && calls < 64) {
        gp_proctable_gc(t);
        calls++;
    }
    assert_int_equal(h.exited, 1);
    assert_true(calls <= 16);
    assert_int_equal(h.dropped, 0); /* its samples of this drain are still named */
    gp_proctable_gc(t);
    assert_int_equal(h.dropped, 1);
    assert_null(gp_proctable_find(t, (uint32_t)pid));
    gp_proctable_free(t);
}

/* A listener added late hears about the live entries; removing it (or freeing the table) lets
 * it drop what it attached to each. */
static void test_late_listener_and_teardown(void **state)
{
    (void)state;
    struct gp_proctable *t;
    assert_int_equal(gp_proctable_new(&t), 0);
    int wa, wb;
    pid_t a = child(&wa), b = child(&wb);
    assert_int_equal(gp_proctable_note(t, (uint32_t)a, 0), 0);
    assert_int_equal(gp_proctable_note(t, (uint32_t)b, 0), 0);
    struct heard first, second;
    assert_int_equal(add(t, &first), 0);
    assert_int_equal(first.seen, 2);
    assert_int_equal(add(t, &second), 1);
    assert_int_equal(second.seen, 2);
    gp_proctable_remove_listener(t, first.id);
    assert_int_equal(first.dropped, 2);
    assert_int_equal(first.data_while_dropped, 2);
    assert_null(gp_proc_data(gp_proctable_find(t, (uint32_t)a), first.id));
    assert_non_null(gp_proctable_find(t, (uint32_t)a)); /* the entries stay */
    gp_proctable_exit(t, (uint32_t)a);
    assert_int_equal(first.exited, 0); /* removed: hears nothing more */
    assert_int_equal(second.exited, 1);
    gp_proctable_free(t);
    assert_int_equal(second.dropped, 2);
    assert_int_equal(second.found_while_dropped, 2);
    assert_int_equal(first.dropped, 2);

    /* room is bounded */
    assert_int_equal(gp_proctable_new(&t), 0);
    struct heard many[GP_PROCTABLE_MAX_LISTENERS + 1];
    for (int i = 0; i < GP_PROCTABLE_MAX_LISTENERS; i++)
        assert_int_equal(add(t, &many[i]), i);
    assert_int_equal(add(t, &many[GP_PROCTABLE_MAX_LISTENERS]), -ENOSPC);
    gp_proctable_free(t);

    close(wa);
    close(wb);
    int ws;
    waitpid(a, &ws, 0);
    waitpid(b, &ws, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lifecycle),
            cmocka_unit_test(test_vanished_without_exit),
            cmocka_unit_test(test_late_listener_and_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
