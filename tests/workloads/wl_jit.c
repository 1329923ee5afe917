/* wl_jit.c — a JIT-style process: copies a hand-assembled hot loop into anonymous executable
 * memory, runs it, and describes it in /tmp/perf-<pid>.map (the pid as the process sees it,
 * so inside a pid namespace the file carries the namespace pid).
 * Usage: wl_jit [SECONDS] [--memfd]; prints "pid N", "sym jit_hot_loop 0x…", "ready".
 * With --memfd the code lives in a file-backed mapping of a memfd (as dual-mapping JITs do),
 * not in anonymous memory. */
#include "workload.h"

#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

static char map_path[64];

/* Killed by a test (SIGTERM/SIGINT/SIGHUP): do not leave the perf map behind in /tmp. */
static void on_signal(int sig)
{
    (void)sig;
    unlink(map_path);
    _exit(0);
}

#if defined(__x86_64__)
static const unsigned char code[] = {
        0x48, 0x89, 0xf8,       /* mov rax, rdi */
        0x48, 0x83, 0xe8, 0x01, /* 1: sub rax, 1 */
        0x75, 0xfa,             /* jnz 1b */
        0xc3,                   /* ret */
};
#elif defined(__aarch64__)
static const uint32_t code[] = {
        0xaa0003e1, /* mov x1, x0 */
        0xf1000421, /* 1: subs x1, x1, #1 */
        0x54ffffe1, /* b.ne 1b */
        0xaa0103e0, /* mov x0, x1 */
        0xd65f03c0, /* ret */
};
#else
#error "wl_jit: add the hot loop for this architecture"
#endif

int main(int argc, char **argv)
{
    double end = wl_deadline(argc, argv, 5);
    size_t len = 4096;
    int memfd = argc > 2 && strcmp(argv[2], "--memfd") == 0;
    unsigned char *mem, *fn;
    if (memfd) {
        int fd = memfd_create("gprof-jit", MFD_CLOEXEC);
        unsigned char page[4096] = {0};
        memcpy(page + 64, code, sizeof(code));
        if (fd < 0 || write(fd, page, sizeof(page)) != (ssize_t)sizeof(page)) {
            perror("memfd");
            return 1;
        }
        mem = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
        if (mem == MAP_FAILED) {
            perror("mmap memfd");
            return 1;
        }
        fn = mem + 64;
    } else {
        mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        fn = mem + 64; /* not at the start of the mapping */
        memcpy(fn, code, sizeof(code));
        __builtin___clear_cache((char *)fn, (char *)fn + sizeof(code));
        if (mprotect(mem, len, PROT_READ | PROT_EXEC) != 0) {
            perror("mprotect");
            return 1;
        }
    }
    char *path = map_path;
    snprintf(map_path, sizeof(map_path), "/tmp/perf-%d.map", (int)getpid());
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    fprintf(f, "%lx %zx jit_hot_loop\n", (unsigned long)(uintptr_t)fn, sizeof(code));
    fclose(f);
    uint64_t (*loop)(uint64_t) = (uint64_t(*)(uint64_t))(uintptr_t)fn;
    loop(1);
    wl_sym("jit_hot_loop", fn + 4);
    wl_ready();
    while (wl_now() < end)
        loop(20000000);
    unlink(path);
    return 0;
}
