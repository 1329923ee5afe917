/* test_perfspect_pmu.c — the PMU side of PerfSpect without a PMU: sysfs event strings and
 * format layouts, topdown detection from recorded sysfs trees, group planning, and opening
 * with fallback against a simulated PMU with few counters (the real one is absent in this VM). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "perfspect/internal.h"

static const char *src_dir(void)
{
    const char *s = getenv("GPROF_SOURCE_DIR");
    return s ? s : ".";
}

static void test_format_apply(void **state)
{
    uint64_t c = 0;
    assert_int_equal(ps_format_apply("config:0-7", 0x3c, &c), 0);
    assert_int_equal(c, 0x3c);
    assert_int_equal(ps_format_apply("config:8-15", 0x80, &c), 0);
    assert_int_equal(c, 0x803c);
    assert_int_equal(ps_format_apply("config:21", 1, &c), 0);
    assert_int_equal(c, 0x20803c);
    /* split fields (AMD's event select): low 8 bits, then bits 32-35 */
    c = 0;
    assert_int_equal(ps_format_apply("config:0-7,32-35", 0x1c2, &c), 0);
    assert_int_equal(c, 0xc2 | (1ull << 32));
    assert_int_equal(ps_format_apply("config:0-7", 0x100, &c), -EINVAL); /* too wide */
    assert_int_equal(ps_format_apply("config1:0-7", 1, &c), -EINVAL);
    assert_int_equal(ps_format_apply("config:9-3", 1, &c), -EINVAL);
}

static void test_parse_event_string(void **state)
{
    char fmt[4096];
    snprintf(fmt, sizeof(fmt), "%s/tests/perfspect/sysfs-skl/bus/event_source/devices/cpu/format",
             src_dir());
    uint64_t c = 0;
    struct gp_err err = {0};
    assert_int_equal(ps_parse_event_string(fmt, "event=0x3c,umask=0x0,any=1", &c, &err), 0);
    assert_int_equal(c, 0x3c | (1ull << 21));
    assert_int_equal(ps_parse_event_string(fmt, "event=0x0d,umask=0x03,any", &c, &err), 0);
    assert_int_equal(c, 0x0d | (0x03 << 8) | (1ull << 21));
    assert_int_equal(ps_parse_event_string(fmt, "event=0x0d,bogus=1", &c, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "bogus"));
    assert_int_equal(ps_parse_event_string(fmt, "event=zz", &c, &err), -EINVAL);
    assert_int_equal(ps_parse_event_string(fmt, "event=0x100", &c, &err), -EINVAL);
}

static void test_probe_icl(void **state)
{
    char root[4096];
    snprintf(root, sizeof(root), "%s/tests/perfspect/sysfs-icl", src_dir());
    struct ps_pmu pmu;
    ps_pmu_probe(root, &pmu);
    assert_true(pmu.present);
    assert_int_equal(pmu.type, 4);
    assert_int_equal(pmu.topdown, PS_TD_PERF_METRICS);
    assert_int_equal(pmu.gp_counters, 8);
    assert_true(pmu.td_listed[PS_EV_SLOTS]);
    assert_int_equal(pmu.td[PS_EV_SLOTS].config, 0x0400);
    assert_int_equal(pmu.td[PS_EV_TD_RETIRING].config, 0x8000);
    assert_int_equal(pmu.td[PS_EV_TD_BAD_SPEC].config, 0x8100);
    assert_int_equal(pmu.td[PS_EV_TD_FE_BOUND].config, 0x8200);
    assert_int_equal(pmu.td[PS_EV_TD_BE_BOUND].config, 0x8300);
    assert_int_equal(pmu.td[PS_EV_TD_BE_BOUND].type, 4);
    assert_false(pmu.td_listed[PS_EV_TD_TOTAL_SLOTS]);
}

static void test_probe_skl_and_absent(void **state)
{
    char root[4096];
    snprintf(root, sizeof(root), "%s/tests/perfspect/sysfs-skl", src_dir());
    struct ps_pmu pmu;
    ps_pmu_probe(root, &pmu);
    assert_true(pmu.present);
    assert_int_equal(pmu.topdown, PS_TD_LEGACY);
    assert_int_equal(pmu.gp_counters, 4);
    assert_int_equal(pmu.td[PS_EV_TD_TOTAL_SLOTS].config, 0x3c | (1ull << 21));
    assert_true(pmu.td[PS_EV_TD_TOTAL_SLOTS].scale == 2.0);
    assert_true(pmu.td[PS_EV_TD_SLOTS_ISSUED].scale == 1.0);
    assert_true(pmu.td[PS_EV_TD_RECOVERY_BUBBLES].scale == 2.0);
    snprintf(root, sizeof(root), "%s/tests/perfspect/no-such-sysfs", src_dir());
    ps_pmu_probe(root, &pmu);
    assert_false(pmu.present);
    assert_int_equal(pmu.topdown, PS_TD_NONE);
}

static void all_wanted(int *wanted, enum ps_topdown td)
{
    for (int ev = 0; ev < PS_EV_COUNT; ev++) {
        int lg = ps_event_info((enum ps_ev)ev)->lgroup;
        wanted[ev] = ev < PS_EV_FIRST_TD || (td == PS_TD_PERF_METRICS && lg == 6) ||
                     (td == PS_TD_LEGACY && lg == 7);
    }
}

/* Every wanted event lands in exactly one group; logical groups stay together when they fit. */
static void check_plan(const int *wanted, const struct ps_group *g, int ng, int limit,
                       int fixed_free)
{
    int seen[PS_EV_COUNT] = {0};
    for (int i = 0; i < ng; i++) {
        int cost = 0;
        for (int k = 0; k < g[i].n; k++) {
            enum ps_ev ev = g[i].ev[k];
            seen[ev]++;
            const struct ps_event_info *in = ps_event_info(ev);
            if (ev >= PS_EV_FIRST_HW && ev < PS_EV_FIRST_TD)
                cost += in->fixed && fixed_free ? 0 : 1;
            if (ev < PS_EV_FIRST_HW)
                assert_int_equal(g[i].n, 1); /* software events alone */
            if (ev >= PS_EV_FIRST_TD)
                assert_true(ps_event_info(g[i].ev[0])->lgroup == in->lgroup);
        }
        assert_true(cost <= limit);
    }
    for (int ev = 0; ev < PS_EV_COUNT; ev++)
        assert_int_equal(seen[ev], wanted[ev] ? 1 : 0);
}

static int group_of(const struct ps_group *g, int ng, enum ps_ev ev)
{
    for (int i = 0; i < ng; i++)
        for (int k = 0; k < g[i].n; k++)
            if (g[i].ev[k] == ev)
                return i;
    return -1;
}

static void test_plan(void **state)
{
    int wanted[PS_EV_COUNT];
    struct ps_group g[PS_EV_COUNT];
    all_wanted(wanted, PS_TD_PERF_METRICS);
    int ng = ps_plan_groups(wanted, 4, 1, g, PS_EV_COUNT);
    check_plan(wanted, g, ng, 4, 1);
    /* slots leads the topdown group */
    int td = group_of(g, ng, PS_EV_TD_RETIRING);
    assert_int_equal(g[td].ev[0], PS_EV_SLOTS);
    assert_int_equal(g[td].n, 5);
    /* ratio partners share a group */
    assert_int_equal(group_of(g, ng, PS_EV_BRANCHES), group_of(g, ng, PS_EV_BRANCH_MISSES));
    assert_int_equal(group_of(g, ng, PS_EV_CYCLES), group_of(g, ng, PS_EV_INSTRUCTIONS));
    assert_int_equal(group_of(g, ng, PS_EV_CACHE_REFERENCES), group_of(g, ng, PS_EV_CACHE_MISSES));
    /* a 2-counter PMU cuts the 3-event memory group, without fixed counters */
    all_wanted(wanted, PS_TD_LEGACY);
    ng = ps_plan_groups(wanted, 2, 0, g, PS_EV_COUNT);
    check_plan(wanted, g, ng, 2, 0);
    assert_int_equal(g[group_of(g, ng, PS_EV_TD_TOTAL_SLOTS)].ev[0], PS_EV_TD_TOTAL_SLOTS);
    /* one counter: one hardware event per group */
    ng = ps_plan_groups(wanted, 1, 0, g, PS_EV_COUNT);
    check_plan(wanted, g, ng, 1, 0);
}

/* A simulated PMU: `counters` slots per group, some events refused, one thread gone. */
struct fake_pmu {
    int counters;
    int refuse[PS_EV_COUNT];
    pid_t gone;
    int size[4096]; /* members per leader fd */
    int max_seen;
    int bad_flags;
};

static int ev_of(const struct perf_event_attr *a)
{
    for (int ev = 0; ev < PS_EV_FIRST_TD; ev++)
        if (ps_event_info((enum ps_ev)ev)->type == a->type &&
            ps_event_info((enum ps_ev)ev)->config == a->config)
            return ev;
    return -1;
}

static int fake_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
                     unsigned long flags, void *ctx)
{
    struct fake_pmu *p = ctx;
    int ev = ev_of(attr);
    if (ev < 0)
        return -EINVAL;
    if (pid == p->gone)
        return -ESRCH;
    if (p->refuse[ev])
        return -ENOENT;
    if ((group_fd < 0) != (attr->disabled == 1) || !attr->inherit ||
        attr->read_format != (PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING))
        p->bad_flags++;
    int hw = ev >= PS_EV_FIRST_HW;
    if (group_fd >= 0 && hw && p->size[group_fd] + 1 > p->counters)
        return -EINVAL; /* what x86 validate_group says about a group that cannot fit */
    int fd = eventfd(0, EFD_CLOEXEC);
    if (fd < 0 || fd >= 4096)
        return -EMFILE;
    if (group_fd >= 0) {
        p->size[group_fd] += hw;
        if (p->size[group_fd] > p->max_seen)
            p->max_seen = p->size[group_fd];
    } else {
        p->size[fd] = hw;
    }
    return fd;
}

static void test_open_with_fallback(void **state)
{
    int wanted[PS_EV_COUNT];
    all_wanted(wanted, PS_TD_NONE);
    struct ps_group g[PS_EV_COUNT];
    /* planned for 4 counters with fixed counters free; the PMU really has 2 and no fixed ones */
    int ng = ps_plan_groups(wanted, 4, 1, g, PS_EV_COUNT);
    struct ps_event_attr attrs[PS_EV_COUNT];
    for (int ev = 0; ev < PS_EV_COUNT; ev++)
        attrs[ev] = (struct ps_event_attr){ps_event_info((enum ps_ev)ev)->type,
                                           ps_event_info((enum ps_ev)ev)->config, 1.0};
    struct fake_pmu pmu;
    memset(&pmu, 0, sizeof(pmu));
    pmu.counters = 2;
    pmu.refuse[PS_EV_STALLED_FRONTEND] = pmu.refuse[PS_EV_STALLED_BACKEND] = 1;
    pmu.gone = 1002;
    struct ps_instance inst[3] = {{1001, -1}, {1002, -1}, {1003, -1}};
    struct ps_counters c;
    struct gp_err err = {0};
    assert_int_equal(ps_counters_open(&c, g, ng, attrs, inst, 3, 1, 0, fake_open, &pmu, &err), 0);
    assert_int_equal(pmu.bad_flags, 0);
    assert_true(pmu.max_seen <= 2);
    for (int ev = 0; ev < PS_EV_FIRST_TD; ev++) {
        if (ev == PS_EV_STALLED_FRONTEND || ev == PS_EV_STALLED_BACKEND) {
            assert_null(c.fd[ev]);
            assert_int_equal(c.refused_errno[ev], ENOENT);
            continue;
        }
        assert_non_null(c.fd[ev]);
        assert_int_equal(c.refused_errno[ev], 0);
        assert_true(c.fd[ev][0] >= 0);
        assert_int_equal(c.fd[ev][1], -1); /* the thread that vanished is dropped */
        assert_true(c.fd[ev][2] >= 0);
    }
    assert_int_equal(c.open_errno_hw, ENOENT);
    /* ratio partners still share a group after the split */
    assert_int_equal(group_of(c.groups, c.ngroups, PS_EV_BRANCHES),
                     group_of(c.groups, c.ngroups, PS_EV_BRANCH_MISSES));
    ps_counters_close(&c);
}

/* No PMU at all (this VM): every hardware event refused, software events all open. */
static void test_open_no_pmu(void **state)
{
    int wanted[PS_EV_COUNT];
    all_wanted(wanted, PS_TD_NONE);
    struct ps_group g[PS_EV_COUNT];
    int ng = ps_plan_groups(wanted, 4, 0, g, PS_EV_COUNT);
    struct ps_event_attr attrs[PS_EV_COUNT];
    for (int ev = 0; ev < PS_EV_COUNT; ev++)
        attrs[ev] = (struct ps_event_attr){ps_event_info((enum ps_ev)ev)->type,
                                           ps_event_info((enum ps_ev)ev)->config, 1.0};
    struct fake_pmu pmu;
    memset(&pmu, 0, sizeof(pmu));
    pmu.counters = 4;
    pmu.gone = -5;
    for (int ev = PS_EV_FIRST_HW; ev < PS_EV_FIRST_TD; ev++)
        pmu.refuse[ev] = 1;
    struct ps_instance inst[1] = {{77, -1}};
    struct ps_counters c;
    struct gp_err err = {0};
    assert_int_equal(ps_counters_open(&c, g, ng, attrs, inst, 1, 1, 0, fake_open, &pmu, &err), 0);
    for (int ev = 0; ev < PS_EV_FIRST_TD; ev++) {
        if (ev < PS_EV_FIRST_HW)
            assert_non_null(c.fd[ev]);
        else
            assert_int_equal(c.refused_errno[ev], ENOENT);
    }
    ps_counters_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_format_apply), cmocka_unit_test(test_parse_event_string),
            cmocka_unit_test(test_probe_icl),    cmocka_unit_test(test_probe_skl_and_absent),
            cmocka_unit_test(test_plan),         cmocka_unit_test(test_open_with_fallback),
            cmocka_unit_test(test_open_no_pmu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
