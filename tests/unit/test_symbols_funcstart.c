/* test_symbols_funcstart.c — a frame in a function no symbol names (a static function of a
 * stripped -O2 -fomit-frame-pointer library, tests/fixtures/unwind/uwhidden.so, loaded into this
 * process) is named by the start of its FDE, so every address in that function gives one frame
 * text, and the next unnamed function another one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent/procs/maps.h"
#include "agent/symbols/symbolizer.h"

static const char *name_of(struct gp_symbolizer *s, uint64_t addr)
{
    const char *out[1] = {0};
    assert_int_equal(gp_symbolize_user(s, (uint32_t)getpid(), &addr, 1, out), 0);
    assert_non_null(out[0]);
    return out[0];
}

static void test_unnamed_function_is_one_frame(void **state)
{
    (void)state;
    const char *src = getenv("GPROF_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/fixtures/unwind/uwhidden.so", src ? src : ".");
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        fail_msg("dlopen %s: %s", path, dlerror());
    void *(*where)(int) = (void *(*)(int))dlsym(h, "uw_hidden_addr");
    assert_non_null(where);
    uint64_t a = (uint64_t)(uintptr_t)where(0), b = (uint64_t)(uintptr_t)where(1);

    struct gp_maps m;
    struct gp_err err = {0};
    assert_int_equal(gp_maps_read((uint32_t)getpid(), 1, &m, &err), 0);
    const struct gp_map *ga = gp_maps_find(&m, a), *gb = gp_maps_find(&m, b);
    assert_non_null(ga);
    assert_non_null(gb);
    char want_a[64], want_b[64];
    snprintf(want_a, sizeof(want_a), "uwhidden.so+0x%" PRIx64, a - ga->start + ga->offset);
    snprintf(want_b, sizeof(want_b), "uwhidden.so+0x%" PRIx64, b - gb->start + gb->offset);
    gp_maps_free(&m);

    struct gp_symbolizer *s;
    struct gp_symbolizer_opts o = {.no_kernel = 1};
    assert_int_equal(gp_symbolizer_new(&o, &s, &err), 0);
    /* uw_hidden_a is 0x48 bytes, uw_hidden_b 0x30 (objdump of the fixture) */
    const uint64_t in_a[] = {a, a + 1, a + 0x10, a + 0x30, a + 0x47};
    for (size_t i = 0; i < sizeof(in_a) / sizeof(in_a[0]); i++)
        assert_string_equal(name_of(s, in_a[i]), want_a);
    assert_string_equal(name_of(s, b + 0x18), want_b);
    assert_string_equal(name_of(s, b), want_b);
    /* the exported neighbour still has its symbol */
    assert_string_equal(name_of(s, (uint64_t)(uintptr_t)where), "uw_hidden_addr");
    gp_symbolizer_free(s);
    dlclose(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_unnamed_function_is_one_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
