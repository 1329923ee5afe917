/* wl_uw_signal.c — a hot path that crosses a signal handler, built -O2 -fomit-frame-pointer.
 * main -> sig_caller -> sig_spin spins for 6 ms of CPU time, arms a 20 us one-shot ITIMER_REAL
 * and spins on until SIGALRM arrives; the handler, entered at whatever instruction of sig_spin
 * the signal interrupts, works 4 ms of CPU time:
 *   main -> sig_caller -> sig_spin                                            60%
 *   main -> sig_caller -> sig_spin -> [__restore_rt] -> sig_handler -> sig_work 40%
 * (less the ~20 us per round the caller waits, ~0.2 points). An unwinder crosses the handler
 * only through the kernel's signal frame (the ucontext above __restore_rt).
 * Usage: wl_uw_signal [SECONDS (0 = until killed)]; prints "pid N", then "ready". */
#include <signal.h>
#include <stdint.h>
#include <sys/time.h>

#include "uw_work.h"
#include "workload.h"

#define MS 1000000LL

static volatile sig_atomic_t handled;
static volatile uint64_t sink;

__attribute__((noipa)) static void sig_work(long long ns)
{
    uint64_t x = sink;
    UW_BURN(x, ns);
    sink = x;
}

__attribute__((noipa)) static void sig_handler(int sig)
{
    (void)sig;
    sig_work(4 * MS);
    handled = handled + 1;
}

__attribute__((noipa)) static uint64_t sig_spin(uint64_t x, long long ns)
{
    static const struct itimerval once = {{0, 0}, {0, 20}};
    sig_atomic_t before = handled;
    UW_BURN(x, ns);
    if (setitimer(ITIMER_REAL, &once, NULL) != 0)
        return x;
    while (handled == before)
        UW_SPIN(x, 200);
    return x;
}

__attribute__((noipa)) static uint64_t sig_caller(uint64_t x, double end)
{
    while (wl_now() < end)
        x = sig_spin(x, 6 * MS);
    return x + 1;
}

int main(int argc, char **argv)
{
    double end = wl_deadline(argc, argv, 5);
    struct sigaction sa = {0};
    sa.sa_handler = sig_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) != 0) {
        perror("sigaction");
        return 1;
    }
    wl_ready();
    uint64_t x = sig_caller((uint64_t)argc, end);
    return (int)(x & 1);
}
