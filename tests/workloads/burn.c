/* burn.c — a workload with two hot functions burning 70% / 30% of its CPU by construction:
 * each thread alternates 7 ms of thread CPU time in hot_a and 3 ms in hot_b. In --mode kernel
 * both spend their time in system calls, so kernel stacks appear under them.
 *
 * burn [-d SECONDS (0 = until killed)] [-t THREADS] [-m user|kernel] [-p (print addresses)]
 *      [-L (the main thread exits first; the process lives on in its workers)]
 *      [-r DEPTH (that many extra frames below hot_a/hot_b)] */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SLICE_A_NS 7000000LL
#define SLICE_B_NS 3000000LL

static int kernel_mode;
static double duration_s = 5.0;
static int depth; /* extra frames below the hot functions (-r) */
static volatile int stop_flag;
static int devnull = -1;

static long long thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* User-mode work the compiler cannot remove. A macro, not a function: gcc 12 gives leaf
 * functions no frame even with -fno-omit-frame-pointer, and a frame-pointer unwinder would then
 * skip the caller (hot_a/hot_b) of a frameless leaf. */
#define SPIN(x, n)                                                                                 \
    for (int i_ = 0; i_ < (n); i_++)                                                               \
    x = x * 6364136223846793005ULL + 1442695040888963407ULL

/* Kernel-mode work: cheap system calls in a loop. libc's wrappers are frameless leaves, so a
 * frame-pointer unwinder skips their caller: that is this helper, and hot_a/hot_b stay. */
__attribute__((noinline)) static void syscalls_write(int n)
{
    static const char buf[64];
    for (int i = 0; i < n; i++)
        if (write(devnull, buf, sizeof(buf)) < 0)
            break;
}

__attribute__((noinline)) static void syscalls_getppid(int n)
{
    for (int i = 0; i < n; i++)
        syscall(SYS_getppid);
}

__attribute__((noinline)) uint64_t hot_a(uint64_t x, long long budget_ns)
{
    long long end = thread_cpu_ns() + budget_ns;
    do {
        if (kernel_mode)
            syscalls_write(64);
        else
            SPIN(x, 100000); /* ~0.1 ms between clock reads: ~1% in the kernel */
    } while (thread_cpu_ns() < end);
    return x;
}

__attribute__((noinline)) uint64_t hot_b(uint64_t x, long long budget_ns)
{
    long long end = thread_cpu_ns() + budget_ns;
    do {
        if (kernel_mode)
            syscalls_getppid(64);
        else
            SPIN(x, 100000); /* ~0.1 ms between clock reads: ~1% in the kernel */
    } while (thread_cpu_ns() < end);
    return x;
}

static uint64_t burn_loop(uint64_t x);

/* Adds frames between worker and the hot functions: deep stacks for unwinder costs. */
__attribute__((noinline)) static uint64_t descend(uint64_t x, int n)
{
    if (n > 0)
        x = descend(x + 1, n - 1);
    else
        x = burn_loop(x);
    __asm__ volatile("" ::: "memory"); /* not a tail call: keep the frame */
    return x;
}

static void *worker(void *arg)
{
    return (void *)(uintptr_t)descend((uintptr_t)arg, depth);
}

__attribute__((noinline)) static uint64_t burn_loop(uint64_t x)
{
    long long deadline = duration_s > 0 ? mono_ns() + (long long)(duration_s * 1e9) : 0;
    while (!stop_flag && (!deadline || mono_ns() < deadline)) {
        x = hot_a(x, SLICE_A_NS);
        x = hot_b(x, SLICE_B_NS);
    }
    return x;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: burn [-d SECONDS] [-t THREADS] [-m user|kernel] [-p] [-L] [-r DEPTH]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int threads = 1, print = 0, leader_exits = 0, opt;
    while ((opt = getopt(argc, argv, "d:t:m:pLr:h")) != -1) {
        switch (opt) {
        case 'd':
            duration_s = atof(optarg);
            break;
        case 't':
            threads = atoi(optarg);
            break;
        case 'm':
            if (!strcmp(optarg, "kernel"))
                kernel_mode = 1;
            else if (strcmp(optarg, "user"))
                usage();
            break;
        case 'p':
            print = 1;
            break;
        case 'L':
            leader_exits = 1;
            break;
        case 'r':
            depth = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (threads < 1 || threads > 1024)
        usage();
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull < 0) {
        perror("open /dev/null");
        return 1;
    }
    if (print) {
        printf("hot_a %p\nhot_b %p\n", (void *)hot_a, (void *)hot_b);
        fflush(stdout);
    }
    pthread_t *tids = calloc(threads, sizeof(*tids));
    if (!tids)
        return 1;
    for (int i = 0; i < threads; i++) {
        int rc = pthread_create(&tids[i], NULL, worker, (void *)(uintptr_t)(i + 1));
        if (rc) {
            fprintf(stderr, "pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    if (leader_exits)
        pthread_exit(NULL); /* the process ends when the last worker does */
    uint64_t sum = 0;
    for (int i = 0; i < threads; i++) {
        void *ret;
        pthread_join(tids[i], &ret);
        sum += (uintptr_t)ret;
    }
    free(tids);
    if (print)
        printf("done %llx\n", (unsigned long long)sum);
    return 0;
}
