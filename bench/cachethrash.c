/* cachethrash.c — two threads reading one byte of a random line of 512 MiB in turn, so every
 * profiler sample finds caches and TLB cold: a steadier stand-in for "a sample at 99 Hz on a
 * busy host" that can run at 999 Hz (more samples per second, less noise per comparison).
 * Usage: cachethrash [SECONDS=10] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SIZE (512ul << 20)

static volatile uint64_t g_sink;

__attribute__((noinline)) static uint64_t touch(const uint8_t *buf, uint64_t x, uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        sum += buf[(x >> 20) % SIZE];
    }
    return sum;
}

static void *worker(void *arg)
{
    const uint8_t *buf = arg;
    uint64_t seed = (uintptr_t)&buf;
    for (;;)
        g_sink += touch(buf, seed++, 1u << 20);
    return NULL;
}

int main(int argc, char **argv)
{
    int secs = argc > 1 ? atoi(argv[1]) : 10;
    if (secs <= 0) {
        fprintf(stderr, "usage: cachethrash [SECONDS]\n");
        return 2;
    }
    uint8_t *buf = malloc(SIZE);
    if (!buf) {
        perror("cachethrash: malloc");
        return 1;
    }
    for (size_t i = 0; i < SIZE; i += 4096)
        buf[i] = (uint8_t)i;
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        int rc = pthread_create(&t[i], NULL, worker, buf);
        if (rc) {
            fprintf(stderr, "cachethrash: pthread_create: %d\n", rc);
            return 1;
        }
    }
    sleep((unsigned)secs);
    return 0;
}
