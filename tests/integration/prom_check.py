#!/usr/bin/env python3
"""prom_check.py FILE [NAME=VALUE...] — checks that FILE is valid Prometheus text exposition
format (0.0.4): every line a HELP, TYPE, comment or sample; metric and label names valid; label
values properly quoted and escaped; values numbers; every sample's family declared by one TYPE
before it, histograms complete (_bucket with le, ascending, cumulative, +Inf == _count, _sum);
no series twice. Prints the samples as JSON ({"name{labels}": value}) on stdout."""
import json, math, re, sys

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')

def fail(n, line, why):
    sys.exit(f"line {n}: {why}: {line!r}")

def number(s):
    if s in ("+Inf", "-Inf", "NaN"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r'[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)', s):
        raise ValueError(s)
    return float(s)

def parse_labels(s, n, line):
    labels, i = [], 0
    while i < len(s):
        m = LABEL.match(s, i)
        if not m: fail(n, line, "bad label name")
        name = m.group(0); i = m.end()
        if s[i:i+2] != '="': fail(n, line, "label without =\"")
        i += 2; val = ""
        while True:
            if i >= len(s): fail(n, line, "unterminated label value")
            c = s[i]
            if c == '\\':
                if i + 1 >= len(s) or s[i+1] not in '\\"n': fail(n, line, "bad escape")
                val += {'\\': '\\', '"': '"', 'n': '\n'}[s[i+1]]; i += 2; continue
            if c == '"': i += 1; break
            if c == '\n': fail(n, line, "raw newline in label value")
            val += c; i += 1
        labels.append((name, val))
        if i < len(s):
            if s[i] != ',': fail(n, line, "labels not separated by ,")
            i += 1
    names = [k for k, _ in labels]
    if len(set(names)) != len(names): fail(n, line, "label repeated")
    return labels

def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    if text and not text.endswith("\n"): sys.exit("the text does not end with a newline")
    types, helps, samples, seen = {}, set(), {}, set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if not line.strip(): continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                if not NAME.fullmatch(parts[2]): fail(n, line, "bad metric name")
                if parts[2] in types: fail(n, line, "TYPE twice")
                if parts[2] in seen: fail(n, line, "TYPE after its samples")
                if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    fail(n, line, "bad type")
                types[parts[2]] = parts[3]
            elif len(parts) >= 3 and parts[1] == "HELP":
                if not NAME.fullmatch(parts[2]): fail(n, line, "bad metric name")
                if parts[2] in helps: fail(n, line, "HELP twice")
                helps.add(parts[2])
            continue
        m = NAME.match(line)
        if not m: fail(n, line, "bad metric name")
        name, rest = m.group(0), line[m.end():]
        labels = []
        if rest.startswith("{"):
            close = rest.rfind("}")
            if close < 0: fail(n, line, "no closing }")
            labels = parse_labels(rest[1:close], n, line)
            rest = rest[close+1:]
        if not rest.startswith(" "): fail(n, line, "no space before the value")
        fields = rest.split()
        if len(fields) not in (1, 2): fail(n, line, "expected a value and an optional timestamp")
        try: v = number(fields[0])
        except ValueError: fail(n, line, "value is not a number")
        fam = name
        for suf in ("_bucket", "_sum", "_count"):
            if name.endswith(suf) and types.get(name[:-len(suf)]) in ("histogram", "summary"):
                fam = name[:-len(suf)]
        if fam not in types: fail(n, line, f"no TYPE for {fam} before its samples")
        t = types[fam]
        if t == "counter" and (v < 0 or math.isnan(v)): fail(n, line, "negative counter")
        if t == "histogram" and name == fam: fail(n, line, "histogram sample without a suffix")
        if name.endswith("_bucket") and fam != name and "le" not in dict(labels):
            fail(n, line, "bucket without le")
        seen.add(fam)
        key = name + ("{" + ",".join(f'{k}="{v2}"' for k, v2 in sorted(labels)) + "}" if labels else "")
        if key in samples: fail(n, line, "series twice")
        samples[key] = v
    # histograms: per label set, ascending le, cumulative, +Inf == _count
    for fam, t in types.items():
        if t != "histogram": continue
        groups = {}
        for key, v in samples.items():
            if key.startswith(fam + "_bucket{"):
                lab = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', key[len(fam) + 8:-1]))
                le = lab.pop("le")
                groups.setdefault(tuple(sorted(lab.items())), []).append((number(le), v))
        for lab, bs in groups.items():
            base = "{" + ",".join(f'{k}="{v}"' for k, v in lab) + "}" if lab else ""
            bs.sort()
            if bs[-1][0] != math.inf: sys.exit(f"{fam}{base}: no +Inf bucket")
            if any(b[1] > c[1] for b, c in zip(bs, bs[1:])): sys.exit(f"{fam}{base}: buckets not cumulative")
            if samples.get(fam + "_count" + base) != bs[-1][1]: sys.exit(f"{fam}{base}: _count != +Inf bucket")
            if fam + "_sum" + base not in samples: sys.exit(f"{fam}{base}: no _sum")
    json.dump(samples, sys.stdout, indent=0)

main()
