/* test_frames.c — a drain's frames: one entry per distinct (mapping, offset, kind) however many
 * stacks of a process hold it, named once, and the stacks added to the profile under the names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/frames.h"
#include "common/profile.h"

/* Two processes mapping the same binary (dev 8:1, inode 77) at different addresses, each with
 * anonymous memory at the same address. */
static struct gp_map maps_a[] = {
        {.start = 0x400000,
         .end = 0x500000,
         .offset = 0x1000,
         .dev_major = 8,
         .dev_minor = 1,
         .inode = 77,
         .kind = GP_MAP_FILE,
         .path = "/usr/bin/app"},
        {.start = 0x7000000, .end = 0x7100000, .kind = GP_MAP_ANON, .path = ""},
};
static struct gp_map maps_b[] = {
        {.start = 0x800000,
         .end = 0x900000,
         .offset = 0x1000,
         .dev_major = 8,
         .dev_minor = 1,
         .inode = 77,
         .kind = GP_MAP_FILE,
         .path = "/usr/bin/app"},
        {.start = 0x7000000, .end = 0x7100000, .kind = GP_MAP_ANON, .path = ""},
};

static void test_distinct_frames(void **state)
{
    (void)state;
    struct gp_proc a = {.tgid = 10, .maps = {maps_a, 2}}, b = {.tgid = 20, .maps = {maps_b, 2}};
    struct gp_frameset *f;
    assert_int_equal(gp_frameset_new(&f), 0);

    /* the same code of the binary in two processes: a frame each (each process names its own) */
    uint32_t fa = gp_frameset_native(f, a.tgid, &a, 0x400123);
    uint32_t fb = gp_frameset_native(f, b.tgid, &b, 0x800123);
    assert_int_not_equal(fa, fb);
    assert_int_equal(gp_frameset_native(f, a.tgid, &a, 0x400123), fa); /* once per process */
    struct gp_frame_entry *e = gp_frameset_entry(f, fa);
    assert_int_equal(e->frame.kind, GP_FRAME_NATIVE);
    assert_int_equal(e->frame.mapping[0], 10);
    assert_int_equal(e->frame.mapping[1], 0x400000);
    assert_int_equal(e->frame.offset, 0x123);
    assert_int_equal(e->tgid, a.tgid);
    assert_int_equal(e->addr, 0x400123);

    /* anonymous memory at the same address in two processes: two frames */
    uint32_t ja = gp_frameset_native(f, a.tgid, &a, 0x7000010);
    uint32_t jb = gp_frameset_native(f, b.tgid, &b, 0x7000010);
    assert_int_not_equal(ja, jb);
    e = gp_frameset_entry(f, jb);
    assert_int_equal(e->frame.mapping[0], 20);
    assert_int_equal(e->frame.mapping[1], 0x7000000);
    assert_int_equal(e->frame.offset, 0x10);
    /* outside every mapping, or of an unknown process: by address */
    uint32_t u = gp_frameset_native(f, 30, NULL, 0x1234);
    e = gp_frameset_entry(f, u);
    assert_int_equal(e->frame.mapping[0], 30);
    assert_int_equal(e->frame.mapping[1], 0);
    assert_int_equal(e->frame.offset, 0x1234);

    uint32_t k = gp_frameset_kernel(f, 0xffffffff81000000ull);
    assert_int_equal(gp_frameset_kernel(f, 0xffffffff81000000ull), k);
    uint32_t lost = gp_frameset_lost(f);
    assert_int_equal(gp_frameset_lost(f), lost);
    assert_int_equal(gp_frameset_count(f), 7);

    /* many frames: the table grows and keeps every index */
    for (uint64_t i = 0; i < 20000; i++)
        assert_int_equal(gp_frameset_kernel(f, 0xffffffff82000000ull + i), 7 + i);
    assert_int_equal(gp_frameset_kernel(f, 0xffffffff82000000ull + 5), 12);
    assert_int_equal(gp_frameset_native(f, b.tgid, &b, 0x800123), fb);

    struct gp_profile *prof = gp_profile_new();
    assert_non_null(prof);
    uint32_t s1[] = {fa, ja, k}, s2[] = {fb, lost}, bad[] = {GP_FRAME_NONE};
    uint32_t comm = gp_profile_intern(prof, "app", 3), none = gp_profile_intern(prof, "", 0);
    assert_int_equal(gp_frameset_add_stack(f, none, comm, s1, 3, 5), 0);
    assert_int_equal(gp_frameset_add_stack(f, none, comm, s2, 2, 2), 0);
    assert_int_equal(gp_frameset_add_stack(f, none, comm, s1, 3, 1), 0);
    assert_int_equal(gp_frameset_add_stack(f, none, comm, bad, 1, 1), -ENOMEM);
    /* the namers: here by hand */
    for (size_t i = 0; i < gp_frameset_count(f); i++) {
        e = gp_frameset_entry(f, i);
        char name[64];
        snprintf(name, sizeof(name), "f%zu", i);
        e->name = gp_profile_intern(prof, name, strlen(name));
        e->resolved = i != ja;
    }
    uint64_t frames = 0, unresolved = 0;
    assert_int_equal(gp_frameset_emit(f, prof, &frames, &unresolved), 0);
    assert_int_equal(frames, 3 + 1 + 3); /* the marker is not a frame */
    assert_int_equal(unresolved, 2);
    assert_int_equal(gp_profile_total(prof), 8);
    assert_int_equal(gp_profile_nstacks(prof), 2);

    /* emptied for the next drain */
    assert_int_equal(gp_frameset_count(f), 0);
    assert_int_equal(gp_frameset_kernel(f, 0xffffffff81000000ull), 0);
    frames = unresolved = 0;
    for (size_t i = 0; i < gp_frameset_count(f); i++)
        gp_frameset_entry(f, i)->name = comm;
    assert_int_equal(gp_frameset_emit(f, prof, &frames, &unresolved), 0);
    assert_int_equal(frames, 0);
    assert_int_equal(gp_profile_total(prof), 8);
    gp_profile_free(prof);
    gp_frameset_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_distinct_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
