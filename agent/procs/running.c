/* running.c — the processes with a thread in state R, from /proc/PID/stat (one read for a
 * single-threaded process) and /proc/PID/task/TID/stat for the others; process start times. */
#include "agent/procs/running.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* State (the field after "(comm)") and thread count of a stat file; -1 when unreadable. */
static int read_stat(const char *path, char *state, long *threads)
{
    char buf[512];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t len = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (len <= 0)
        return -1;
    buf[len] = '\0';
    char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
    if (!p || p[1] != ' ' || !p[2])
        return -1;
    *state = p[2];
    *threads = 1;
    /* fields after the state: ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
     * cmajflt utime stime cutime cstime priority nice num_threads (the 17th) */
    p += 3;
    for (int f = 0; f < 17 && p; f++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (p)
        *threads = strtol(p, NULL, 10);
    return 0;
}

static int any_thread_running(unsigned long pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%lu/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int running = 0;
    struct dirent *de;
    while (!running && (de = readdir(d))) {
        char *end;
        unsigned long tid = strtoul(de->d_name, &end, 10);
        if (*end || !tid)
            continue;
        char sp[96], st;
        long nt;
        snprintf(sp, sizeof(sp), "/proc/%lu/task/%lu/stat", pid, tid);
        running = read_stat(sp, &st, &nt) == 0 && st == 'R';
    }
    closedir(d);
    return running;
}

int gp_procs_running(uint32_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return -errno;
    size_t cap = 0;
    unsigned long self = (unsigned long)getpid();
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        char *end;
        unsigned long pid = strtoul(de->d_name, &end, 10);
        if (*end || !pid || pid > UINT32_MAX || pid == self)
            continue;
        char path[64], st;
        long threads;
        snprintf(path, sizeof(path), "/proc/%lu/stat", pid);
        if (read_stat(path, &st, &threads))
            continue; /* gone */
        if (st != 'R' && !(threads > 1 && any_thread_running(pid)))
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            uint32_t *v = realloc(*out, ncap * sizeof(*v));
            if (!v) {
                rc = -ENOMEM;
                break;
            }
            *out = v;
            cap = ncap;
        }
        (*out)[(*n)++] = (uint32_t)pid;
    }
    closedir(d);
    if (rc) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

uint64_t gp_boot_ticks_now(void)
{
    struct timespec ts;
    long hz = sysconf(_SC_CLK_TCK);
    if (clock_gettime(CLOCK_BOOTTIME, &ts) || hz <= 0)
        return 0;
    return (uint64_t)ts.tv_sec * (uint64_t)hz +
           (uint64_t)ts.tv_nsec / (1000000000ull / (uint64_t)hz);
}

int gp_proc_start_ticks(uint32_t pid, uint64_t *ticks)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%u/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t len = read(fd, buf, sizeof(buf) - 1);
    int e = errno;
    close(fd);
    if (len <= 0)
        return len < 0 ? -e : -ENOENT;
    buf[len] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return -EINVAL;
    /* starttime is the 22nd field; the state (3rd) follows ") " */
    p += 2;
    for (int f = 3; f < 22 && p; f++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (!p)
        return -EINVAL;
    *ticks = strtoull(p, NULL, 10);
    return 0;
}
