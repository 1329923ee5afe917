#!/usr/bin/env python3
"""record_phases.py PERF_SCRIPT_FILE PERIOD_MS: CPU of a `gprofctl record` process by phase.

Reads `perf script` output of a `perf record --call-graph dwarf` run on gprofctl (issue 13) and
counts each sample of a gprofctl thread in the first phase whose functions are on its stack;
munmap, BPF verification and map creation are also given on their own (they can sit inside the
phases or, when the user stack is lost at a libc syscall wrapper, in "other")."""
import sys

PHASES = [
    ("BPF load + verification", ["bpf_object__load", "gp_sampler_bpf_open", "profile_bpf__"]),
    ("unwind table build", ["gp_uw_table_build", "tab_build"]),
    ("map mirroring (tables into BPF maps)",
     ["table_add", "publish_table", "publish_proc", "proc_set", "resolve_pending"]),
    ("/proc/PID/maps reads", ["gp_maps_read"]),
    ("symbolization", ["gp_symbolize_user_at", "gp_symbolize_kernel_at", "name_frames",
                       "gp_elfsyms", "kallsyms"]),
    ("drain + interning", ["gp_sampler_drain", "bpf_drain", "on_sample", "gp_frameset",
                           "gp_profile_add"]),
    ("process events and notes", ["bpf_poll_events", "gp_proctable", "handle_event",
                                  "renote_young", "on_event"]),
    ("start-up scan", ["gp_procs_running", "scan_host"]),
    ("profile write", ["output_commit", "gp_session_take_profile", "gp_profile_write",
                       "write_collapsed"]),
    ("registry, other", ["gp_uw_registry"]),
    ("process start and exit", ["_dl_", "exit", "cmd_record", "main"]),
]
ALSO = [("of which munmap (TLB shootdowns)", "__x64_sys_munmap"),
        ("of which the verifier (bpf_check)", "bpf_check"),
        ("of which BPF map creation", "map_create")]


def main():
    per = float(sys.argv[2])
    counts, also, total = {}, {}, 0
    for block in open(sys.argv[1], errors="replace").read().split("\n\n"):
        lines = block.strip().split("\n")
        if not lines or "gprofctl" not in lines[0]:
            continue
        total += 1
        syms = " ".join(l.split()[1] for l in lines[1:] if len(l.split()) > 1)
        name = next((p for p, keys in PHASES if any(k in syms for k in keys)), "other")
        counts[name] = counts.get(name, 0) + 1
        for label, key in ALSO:
            if key in syms:
                also[label] = also.get(label, 0) + 1
    for name, n in sorted(counts.items(), key=lambda x: -x[1]):
        print("%-40s %8.1f ms %5.1f%%" % (name, n * per, 100.0 * n / total))
    for label, _ in ALSO:
        print("%-40s %8.1f ms" % (label, also.get(label, 0) * per))
    print("%-40s %8.1f ms" % ("total", total * per))


main()
