# collapse-perf.awk — folds `perf script` output into `comm;root;...;leaf count` lines.
# Written for this benchmark (the perf + folding pipeline peer); kernel frames get `_[k]`.
function flush(   i, s) {
    if (comm == "") return
    s = comm
    for (i = n; i >= 1; i--) s = s ";" f[i]
    counts[s]++
    comm = ""; n = 0
}
/^[^ \t]/ { flush(); comm = $1; n = 0; next }
/^[ \t]+[0-9a-f]+ / {
    sym = $2; sub(/\+0x[0-9a-f]+$/, "", sym)
    if (sym == "[unknown]") { dso = $NF; gsub(/[()]/, "", dso); sub(/.*\//, "", dso); sym = dso "+0x" $1 }
    if ($NF ~ /kernel/ || $NF ~ /vmlinux/) sym = sym "_[k]"
    f[++n] = sym; next
}
/^$/ { flush() }
END { flush(); for (s in counts) print s, counts[s] }
