#!/usr/bin/env python3
"""stack_agree.py — how whole, and how like a reference, the user stacks of one program are in
several profilers' outputs (bench/unwind.sh). Inputs are KIND:FILE with KIND one of
  gprof     gprofctl record's collapsed text (`app;container;comm;root;...;leaf count`)
  folded    `comm;root;...;leaf count` (perf script folded by bench/collapse-perf.awk)
  bpftrace  bpftrace's printed map `@[kstack, ustack, comm]: count`
Kernel frames are dropped, `+offset` and `@@GLIBC_x` suffixes stripped. Prints, per input: samples of COMM,
% of them reaching `main`, mean user depth, and the overlap (sum over stacks of the smaller of
the two shares) of its stacks, cut at main, with the first input's.
Usage: stack_agree.py COMM KIND:FILE [KIND:FILE...]"""
import collections
import re
import sys

OFFSET = re.compile(r"\+(0x[0-9a-f]+|\d+)$")
VERSION = re.compile(r"@@?[A-Za-z0-9_.]+$")  # perf names clock_gettime@@GLIBC_2.17, gprof not


def user_frames(frames):
    return [VERSION.sub("", f) for f in frames if f and not f.endswith("_[k]")]


def read_collapsed(path, comm, skip):
    out = collections.Counter()
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("# ") or not line.strip():
                continue
            stack, _, n = line.rstrip("\n").rpartition(" ")
            parts = stack.split(";")[skip:]
            if not parts or parts[0] != comm or not n.isdigit():
                continue
            out[tuple(user_frames(parts[1:]))] += int(n)
    return out


def read_bpftrace(path, comm):
    out = collections.Counter()
    section, frames = 0, [[], []]
    end = re.compile(r"^((?:, ?)+)(.*)\]: (\d+)$")
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("@["):
                section, frames = 0, [[], []]
                line = line[2:]
                if not line:
                    continue
            m = end.match(line)
            if m:
                if m.group(2) == comm:
                    user = [VERSION.sub("", OFFSET.sub("", x)) for x in frames[1]]
                    out[tuple(reversed(user))] += int(m.group(3))
                continue
            if line.startswith(","):
                section += line.count(",")
                continue
            if line.strip() and section < 2:
                frames[section].append(line.strip())
    return out


def read(spec, comm):
    kind, _, path = spec.partition(":")
    if kind == "gprof":
        return read_collapsed(path, comm, 2)
    if kind == "folded":
        return read_collapsed(path, comm, 0)
    if kind == "bpftrace":
        return read_bpftrace(path, comm)
    sys.exit("stack_agree.py: unknown input kind %r (gprof, folded or bpftrace)" % kind)


def from_main(stack):
    return stack[stack.index("main"):] if "main" in stack else stack


def shares(counts):
    total = sum(counts.values()) or 1
    cut = collections.Counter()
    for s, n in counts.items():
        cut[from_main(s)] += n
    return {s: n / total for s, n in cut.items()}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    comm = sys.argv[1]
    inputs = [(spec, read(spec, comm)) for spec in sys.argv[2:]]
    ref = shares(inputs[0][1])
    for spec, counts in inputs:
        total = sum(counts.values())
        reach = sum(n for s, n in counts.items() if "main" in s)
        depth = sum(len(s) * n for s, n in counts.items())
        mine = shares(counts)
        overlap = sum(min(p, ref.get(s, 0.0)) for s, p in mine.items())
        print("%s %d %.1f %.1f %.1f" % (spec.partition(":")[2], total,
                                        100.0 * reach / total if total else 0.0,
                                        depth / total if total else 0.0, 100.0 * overlap))


if __name__ == "__main__":
    main()
