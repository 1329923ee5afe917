# collapse-perf.awk — folds `perf script` output into `comm;root;...;leaf count` lines.
# Written for the benchmarks (the perf + folding pipeline peer) and used by the unwinding tests
# as their oracle's folding; kernel frames get `_[k]`. Symbols keep their spaces (C++).
function flush(   i, s) {
    if (comm == "") return
    s = comm
    for (i = n; i >= 1; i--) s = s ";" f[i]
    counts[s]++
    comm = ""; n = 0
}
/^[^ \t]/ { flush(); comm = $1; n = 0; next }
/^[ \t]+[0-9a-f]+ / {
    line = $0; sub(/^[ \t]+[0-9a-f]+ /, "", line)
    dso = ""; if (match(line, / \([^()]*\)$/)) { dso = substr(line, RSTART + 2, RLENGTH - 3); line = substr(line, 1, RSTART - 1) }
    sym = line; sub(/\+0x[0-9a-f]+$/, "", sym)
    if (sym == "[unknown]") { d = dso; sub(/.*\//, "", d); sym = d "+0x" $1 }
    if (dso ~ /kernel/ || dso ~ /vmlinux/) sym = sym "_[k]"
    f[++n] = sym; next
}
/^$/ { flush() }
END { flush(); for (s in counts) print s, counts[s] }
