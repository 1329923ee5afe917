/* test_procs_running.c — which processes are on CPU (a spinning child is listed, a sleeping one
 * and the caller are not, a sleeping process with a spinning thread is) and process start times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/procs/running.h"

static volatile int spin_forever = 1;

static void *spinner(void *arg)
{
    (void)arg;
    while (spin_forever)
        ;
    return NULL;
}

/* mode 0: the main thread spins; 1: it sleeps; 2: it sleeps while a second thread spins. */
static pid_t child(int mode)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (mode == 2) {
            pthread_t t;
            if (pthread_create(&t, NULL, spinner, NULL))
                _exit(1);
        }
        if (mode == 0)
            spinner(NULL);
        for (;;)
            pause();
    }
    return pid;
}

static int listed(pid_t pid)
{
    /* A runnable process may be caught between time slices in another state only by a race
     * with the scheduler's accounting: retry a few times (R covers running and runnable). */
    for (int tries = 0; tries < 20; tries++) {
        uint32_t *v = NULL;
        size_t n = 0;
        assert_int_equal(gp_procs_running(&v, &n), 0);
        int found = 0;
        for (size_t i = 0; i < n; i++) {
            assert_int_not_equal(v[i], (uint32_t)getpid()); /* never the caller */
            found |= v[i] == (uint32_t)pid;
        }
        free(v);
        if (found)
            return 1;
        usleep(20000);
    }
    return 0;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void test_spinning_listed_sleeping_not(void **state)
{
    (void)state;
    pid_t spin = child(0), sleepy = child(1), threaded = child(2);
    usleep(100000);
    assert_true(listed(spin));
    assert_true(listed(threaded)); /* main thread asleep, a worker on CPU */
    uint32_t *v = NULL;
    size_t n = 0;
    assert_int_equal(gp_procs_running(&v, &n), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(v[i], (uint32_t)sleepy);
    free(v);
    reap(spin);
    reap(sleepy);
    reap(threaded);
}

static void test_start_ticks(void **state)
{
    (void)state;
    uint64_t self = 0, now = gp_boot_ticks_now(), later = 0;
    assert_true(now > 0);
    assert_int_equal(gp_proc_start_ticks((uint32_t)getpid(), &self), 0);
    assert_true(self <= now);
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL); /* at least one tick (10 ms at 100 Hz) after now */
    pid_t c = child(1);
    assert_int_equal(gp_proc_start_ticks((uint32_t)c, &later), 0);
    assert_true(later >= now); /* started after the session's start: not "old" */
    assert_true(later > self);
    reap(c);
    assert_int_equal(gp_proc_start_ticks((uint32_t)c, &later), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_spinning_listed_sleeping_not),
            cmocka_unit_test(test_start_ticks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
