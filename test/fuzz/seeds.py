#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed inputs of the fuzz targets whose input is more than a
file (test/fuzz/corpus/<name>/, run from the repository's root):
  disk_segment  queue/disk_internal.h's formats: a flags byte, an optional
                cursor, an optional split, segments of well-formed records
  procfs        the table's index (read from fuzz_procfs.c), then every
                fixture kernel's copy of that file
  sysfs         the table's index (read from fuzz_sysfs.c), a file's path
                under sys/, NUL, then the fixture's content
The other targets' seeds are the fixtures themselves, copied."""
import os
import re
import struct
import zlib

FIXTURES = "test/fixtures"
CORPUS = "test/fuzz/corpus"

REC_MAGIC = 0x31524B44
CURSOR_MAGIC = 0x31434B44
F_CURSOR, F_TWO, F_UNCLAIM, F_FIX = 1, 2, 4, 8


def record(payload, samples, flags=0, oldest=1000, newest=2000):
    hdr = struct.pack("<IIIIqqI", REC_MAGIC, len(payload), samples, flags, oldest, newest,
                      zlib.crc32(payload))
    return hdr + struct.pack("<I", zlib.crc32(hdr)) + payload


def cursor(seq, off):
    b = struct.pack("<IQQ", CURSOR_MAGIC, seq, off)
    return b + struct.pack("<I", zlib.crc32(b))


def write_all(out, seeds):
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


def disk_segment():
    recs = [record(b"payload-%d" % i * (i + 1), i + 1, flags=(1 if i == 2 else 0) | (2 if i == 3 else 0))
            for i in range(5)]
    seg = b"".join(recs)
    mid = len(recs[0]) + len(recs[1])
    seeds = {
        "records": bytes([0]) + seg,
        "records-unclaim": bytes([F_UNCLAIM]) + seg,
        "torn-tail": bytes([0]) + seg[:-7],
        "damaged-middle": bytes([0]) + seg[:mid + 5] + b"\xff" * 9 + seg[mid + 14:],
        "cursor": bytes([F_CURSOR]) + cursor(1, mid) + seg,
        "two-segments": bytes([F_CURSOR | F_TWO]) + cursor(2, 0) + struct.pack("<H", mid) + seg,
        "fix-checksums": bytes([F_FIX]) + seg,
        "fix-huge-length": bytes([F_FIX]) + seg[:4] + b"\xff\xff\xff\x7f" + seg[8:],
    }
    write_all(os.path.join(CORPUS, "disk_segment"), seeds)


def table(source, pattern):
    with open(source) as f:
        text = f.read()
    return re.findall(pattern, text.split("targets[] = {", 1)[1].split("};", 1)[0])


# Files no fixture holds: a few lines of their real shape.
SYNTHETIC = {
    "proc/kallsyms": b"""0000000000000000 A fixed_percpu_data
ffffffff81000000 T _stext
ffffffff81000000 T _text
ffffffff81001000 T __pfx_do_one_initcall
ffffffff81001010 T do_one_initcall
ffffffff81001290 t trace_initcall_level
ffffffff810012f0 W arch_cpu_idle
ffffffff81001300 w __weak_alias
ffffffff81001400 T tcp_v4_rcv
ffffffff81001500 d __already_done.1
ffffffffc0a01000 t veth_xmit\t[veth]
ffffffffc0a02000 T nf_conntrack_in\t[nf_conntrack]
""",
}


def procfs():
    seeds = {}
    files = table("test/fuzz/fuzz_procfs.c", r'\{(?:&collector_\w+|NULL), "([^"]+)"')
    for i, rel in enumerate(files):
        if rel in SYNTHETIC:
            seeds["%02d-synthetic-%s" % (i, os.path.basename(rel))] = bytes([i]) + SYNTHETIC[rel]
        for tree in sorted(os.listdir(FIXTURES)):
            for cand in (rel, rel.replace("etc/", "usr/lib/")):
                path = os.path.join(FIXTURES, tree, cand)
                if os.path.isfile(path):
                    with open(path, "rb") as f:
                        seeds["%02d-%s-%s" % (i, tree, os.path.basename(rel))] = bytes([i]) + f.read()
    write_all(os.path.join(CORPUS, "procfs"), seeds)


def sysfs():
    seeds = {}
    rows = table("test/fuzz/fuzz_sysfs.c", r'\{&collector_\w+, \{([^}]*)\}\}')
    for i, row in enumerate(rows):
        dirs = re.findall(r'"([^"]+)"', row)
        for tree in ("linux-6.1", "hw", "cgroup"):
            sys_root = os.path.join(FIXTURES, tree, "sys")
            for top, _, names in os.walk(sys_root):
                for name in sorted(names):
                    path = os.path.join(top, name)
                    rel = os.path.relpath(path, sys_root)
                    if os.path.islink(path) or not any(rel.startswith(d) for d in dirs):
                        continue
                    with open(path, "rb") as f:
                        key = "%02d-%s" % (i, rel.replace("/", "_"))
                        seeds[key[:200]] = bytes([i]) + rel.encode() + b"\0" + f.read()
    write_all(os.path.join(CORPUS, "sysfs"), seeds)


def main():
    disk_segment()
    procfs()
    sysfs()


if __name__ == "__main__":
    main()
