/* fuzz_config.c — configuration files (`key = value`, comments, quotes) read by the agent and the
 * coordinator: the generic parser and typed getters on any text, and the coordinator's whole
 * load and validation of a config file (written to a memfd, read through /proc/self/fd).
 * Never a crash, leak or UB; every refusal names what is wrong. The first byte picks the mode. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/config.h"
#include "coordinator/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void generic(const char *text, int strict)
{
    struct gp_config *c = gp_config_new();
    struct gp_err err = {0};
    if (!c)
        return;
    if (gp_config_parse_text(c, text, "fuzz.conf", strict ? coord_config_keys : NULL, &err)) {
        if (err.msg[0] == '\0')
            abort();
    }
    for (int k = 0; coord_config_keys[k]; k++) {
        const char *key = coord_config_keys[k];
        int64_t i;
        int b;
        uint64_t sz;
        (void)gp_config_get(c, key);
        (void)gp_config_source(c, key);
        (void)gp_config_get_i64(c, key, 1, INT64_MIN, INT64_MAX, &i, &err);
        (void)gp_config_get_i64(c, key, 5, 1, 10, &i, &err);
        (void)gp_config_get_bool(c, key, 0, &b, &err);
        (void)gp_config_get_size(c, key, 0, &sz, &err);
    }
    gp_config_free(c);
}

static void coordinator(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0 && (fd = memfd_create("fuzz_config", MFD_CLOEXEC)) < 0)
        return;
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    char *argv[] = {"--config", path, NULL};
    struct coord_config c;
    struct gp_err err = {0};
    if (coord_config_load(&c, 2, argv, &err) != 0 && err.msg[0] == '\0')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    if (data[0] & 1) {
        coordinator(data + 1, size - 1);
        return 0;
    }
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    generic(s, data[0] & 2);
    free(s);
    return 0;
}
