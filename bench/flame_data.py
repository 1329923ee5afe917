#!/usr/bin/env python3
# flame_data.py — issue 17's big flame-graph profile as agent uploads: STACKS distinct stacks
# (a shared 6-level call tree, then 2..13 frames from 3,000 names, some _[k], _[p], _[j]) with
# counts 1..19 adding up to exactly SAMPLES, split over HOSTS gzip'd /api/v2/profiles envelopes
# (DIR/upN.gz) plus the folded text (DIR/profile.folded). Used by bench/ui_flame.sh and
# bench/flame_query.sh.
# usage: flame_data.py DIR STACKS SAMPLES HOSTS NOW(YYYY-MM-DDTHH:MM:SS) [SERVICE]
import gzip, json, sys

d, nst, nsamp, hosts, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
service = sys.argv[6] if len(sys.argv) > 6 else "bench"
radix = [3, 4, 5, 5, 6, 8]
sfx = ["", "", "", "", "_[k]", "_[p]", "_[j]", ""]


def rnd(x):
    return (x * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)


counts = [1 + (i * 7919) % 19 for i in range(nst)]
counts[-1] += nsamp - sum(counts)
assert counts[-1] > 0
per = [[] for _ in range(hosts)]
with open(d + "/profile.folded", "w") as folded:
    for i in range(nst):
        frames, v = ["start_thread", "worker_main"], i
        for k, r in enumerate(radix):
            frames.append("layer%d_fn%d%s" % (k, v % r, sfx[(v + k) % 8] if k > 2 else ""))
            v //= r
        x = rnd(i + 1)
        for k in range((x >> 60) % 12 + 2):
            x = rnd(x)
            frames.append("func_%d%s" % ((x >> 33) % 3000, sfx[(x >> 20) % 8]))
        comm = "app%d" % (i % 3)
        folded.write("%s;%s %d\n" % (comm, ";".join(frames), counts[i]))
        per[i % hosts].append("0;;%s;%s %d" % (comm, ";".join(frames), counts[i]))
for h in range(hosts):
    host = "host-%d" % h
    prof = '# {"metadata":{"hostname":"%s","run_arguments":{"service_name":"%s"}}}\n' % (host, service)
    prof += "\n".join(per[h])
    body = {"start_time": now, "end_time": now, "hostname": host, "profile": prof,
            "cpu_avg": 10.0, "mem_avg": 20.0, "spawn_time": now, "gpid": ""}
    with open("%s/up%d.gz" % (d, h), "wb") as f:
        f.write(gzip.compress(json.dumps(body).encode(), 6))
