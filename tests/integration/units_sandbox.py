#!/usr/bin/env python3
"""units_sandbox.py UNIT -- CMD...: runs CMD under the parts of UNIT's [Service] sandbox that can
be set up without systemd as PID 1, the way systemd would apply them:
  CapabilityBoundingSet    prctl(PR_CAPBSET_DROP) of the others, no inheritable capabilities
                           (root's capabilities after execve are then exactly the set)
  NoNewPrivileges          prctl(PR_SET_NO_NEW_PRIVS)
  MemoryDenyWriteExecute   prctl(PR_SET_MDWE) (kernel >= 6.3; systemd uses seccomp, same effect)
  SystemCallFilter         a libseccomp allowlist of the groups as `systemd-analyze syscall-filter`
                           expands them, other calls fail with SystemCallErrorNumber (or SIGSYS)
  RestrictAddressFamilies  socket(2) with another family fails with EAFNOSUPPORT
  SystemCallArchitectures  native: the filter is built for the native ABI only
  ProtectSystem=strict, ProtectHome=read-only, ProtectKernelModules, ProtectControlGroups
                           a private mount namespace with /, /home, /sys/fs/cgroup read-only
                           and the StateDirectory (given as --rw DIR) writable; a fresh
                           tmpfs as RuntimeDirectory
Prints what it applied to stderr. Anything else in the unit is not emulated."""
import ctypes
import errno
import os
import subprocess
import sys

PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1
SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_NE = 1
AF = {"AF_UNIX": 1, "AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16, "AF_PACKET": 17}


def scmp_errno(e):
    return 0x00050000 | (e & 0xFFFF)


def unit_settings(path):
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]" and "=" in line:
                k, v = line.split("=", 1)
                out.setdefault(k, []).append(v)
    return out


def expand(names, seen=None):
    seen = set() if seen is None else seen
    calls = set()
    for n in names:
        if not n.startswith("@"):
            calls.add(n)
            continue
        if n in seen:
            continue
        seen.add(n)
        txt = subprocess.run(["systemd-analyze", "syscall-filter", n], capture_output=True,
                             text=True, check=True).stdout
        sub = [l.strip() for l in txt.splitlines()[1:] if l.startswith("    ")
               and not l.strip().startswith("#")]
        calls |= expand(sub, seen)
    return calls


def main():
    args = sys.argv[1:]
    rw = []
    while args and args[0] == "--rw":
        rw.append(args[1])
        args = args[2:]
    unit, sep, cmd = args[0], args[1], args[2:]
    assert sep == "--" and cmd, __doc__
    s = unit_settings(unit)
    last = lambda k, d="": s.get(k, [d])[-1]
    applied = []

    libc = ctypes.CDLL(None, use_errno=True)
    # Mount namespace first (needs CAP_SYS_ADMIN, which the bounding set then drops).
    if last("ProtectSystem") == "strict":
        if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
            sys.exit("unshare(CLONE_NEWNS): " + os.strerror(ctypes.get_errno()))
        sh = ["mount --make-rslave /"]
        for d in rw:
            sh.append(f"mount --bind {d} {d}")
        rt = last("RuntimeDirectory")
        if rt:  # fresh at every start, as systemd makes it
            sh.append(f"mkdir -p /run/{rt} && mount -t tmpfs -o mode=0700 tmpfs /run/{rt}")
        sh.append("mount -o remount,bind,ro /")
        for d in ("/usr", "/boot", "/etc", "/var", "/tmp"):
            sh.append(f"mountpoint -q {d} && mount -o remount,bind,ro {d} || true")
        if last("ProtectHome") in ("read-only", "yes"):
            sh.append("mountpoint -q /home && mount -o remount,bind,ro /home || true")
        if last("ProtectControlGroups") == "yes":
            sh.append("mount -o remount,bind,ro /sys/fs/cgroup || true")
        if last("PrivateTmp") == "yes":
            sh.append("mount -t tmpfs tmpfs /tmp")
        subprocess.run(["sh", "-ec", "; ".join(sh)], check=True)
        for d in rw:  # the writable directories were bind mounts of themselves: make them rw
            subprocess.run(["mount", "-o", "remount,bind,rw", d], check=True)
        applied.append("ProtectSystem=strict(ro /, rw " + " ".join(rw) + ")")

    caps = [w for v in s.get("CapabilityBoundingSet", []) for w in v.split()]
    if caps:
        cap = ctypes.CDLL("libcap.so.2", use_errno=True)
        keep = set()
        for c in caps:
            v = ctypes.c_int()
            if cap.cap_from_name(c.lower().encode(), ctypes.byref(v)) != 0:
                sys.exit("unknown capability " + c)
            keep.add(v.value)
        last_cap = int(open("/proc/sys/kernel/cap_last_cap").read())
        for c in range(last_cap + 1):
            if c not in keep and libc.prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0:
                sys.exit("prctl(PR_CAPBSET_DROP): " + os.strerror(ctypes.get_errno()))
        cap.cap_get_proc.restype = ctypes.c_void_p
        cap.cap_clear_flag.argtypes = [ctypes.c_void_p, ctypes.c_int]
        cap.cap_set_proc.argtypes = [ctypes.c_void_p]
        cp = cap.cap_get_proc()
        if cap.cap_clear_flag(cp, 2) != 0 or cap.cap_set_proc(cp) != 0:  # CAP_INHERITABLE
            sys.exit("cap_set_proc failed")
        applied.append("CapabilityBoundingSet=" + " ".join(caps))
    if last("NoNewPrivileges") == "yes":
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            sys.exit("prctl(NO_NEW_PRIVS): " + os.strerror(ctypes.get_errno()))
        applied.append("NoNewPrivileges")
    if last("MemoryDenyWriteExecute") == "yes":
        if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
            sys.exit("prctl(PR_SET_MDWE) needs kernel >= 6.3: " + os.strerror(ctypes.get_errno()))
        applied.append("MemoryDenyWriteExecute")

    # systemd: the first line without "~" makes an allowlist; "~" lines take calls out of it.
    lines = s.get("SystemCallFilter", [])
    filt = [w for v in lines if not v.startswith("~") for w in v.split()]
    deny = [w for v in lines if v.startswith("~") for w in v[1:].split()]
    fams = [w for v in s.get("RestrictAddressFamilies", []) for w in v.split()]
    if filt or fams:
        sc = ctypes.CDLL("libseccomp.so.2", use_errno=True)
        sc.seccomp_init.restype = ctypes.c_void_p
        sc.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        en = last("SystemCallErrorNumber")
        default = scmp_errno(getattr(errno, en)) if en else SCMP_ACT_KILL_PROCESS
        if deny and not filt:
            sys.exit("a deny-list without an allowlist is not emulated")
        allow = expand(filt) - expand(deny) if filt else None
        ctx = sc.seccomp_init(ctypes.c_uint32(default if allow is not None else SCMP_ACT_ALLOW))
        sc.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                        ctypes.c_uint]
        n = 0
        for name in sorted(allow or ()):
            nr = sc.seccomp_syscall_resolve_name(name.encode())
            if nr < 0 or (name == "socket" and fams):
                continue
            if sc.seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) == 0:
                n += 1
        if fams:
            # struct scmp_arg_cmp {unsigned arg; int op; u64 datum_a, datum_b} per allowed family:
            # socket(family) is allowed when family == one of them, EAFNOSUPPORT otherwise.
            class Cmp(ctypes.Structure):
                _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                            ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]
            sc.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                            ctypes.c_uint, Cmp]
            if allow is None:
                sys.exit("RestrictAddressFamilies without SystemCallFilter is not emulated")
            nr = sc.seccomp_syscall_resolve_name(b"socket")
            for f in fams:  # socket(family == f) allowed; other families get the default action
                sc.seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, Cmp(0, 4, AF[f], 0))  # SCMP_CMP_EQ
        if sc.seccomp_load(ctypes.c_void_p(ctx)) != 0:
            sys.exit("seccomp_load failed")
        applied.append(f"SystemCallFilter({n} calls, else {en or 'SIGSYS'})")
        if fams:
            applied.append("RestrictAddressFamilies=" + " ".join(fams))

    print("units_sandbox: " + "; ".join(applied), file=sys.stderr, flush=True)
    os.execv(cmd[0], cmd)


main()
