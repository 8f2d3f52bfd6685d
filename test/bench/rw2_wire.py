#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Bytes on the wire per sample, Remote Write 1.0 and 2.0 side by side, from
the agent itself: two endpoints of one agent (the same rounds, the same
series: every default collector of this host), one speaking 1.0, one 2.0,
each to a receiver of its protocol; compressed request bytes and samples
are counted by the receivers (metadata requests left out; 2.0 carries
metadata inline, so its figure includes it).

    /usr/bin/python3 test/bench/rw2_wire.py --bpfpush build/bpfpush --rounds 10
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import snappy  # noqa: E402

import rw2  # noqa: E402
from rw2_receivers import RW2Receiver  # noqa: E402


def config(v1_url, v2_url, interval):
    rw = "    queue_config: {max_samples_per_send: 2000, batch_send_deadline: 1s}\n"
    return (f"global:\n  interval: {interval}\n  data_dir: \"\"\n"
            f"remote_write:\n  - url: {v1_url}\n    name: v1\n{rw}"
            f"  - url: {v2_url}\n    name: v2\n{rw}"
            "    protobuf_message: io.prometheus.write.v2.Request\n"
            "http:\n  listen_address: \"\"\n")


def without_help(rx):
    """Compressed bytes of the same 2.0 requests with every HELP symbol
    emptied: what the inline help texts cost."""
    total = 0
    for r in rx.snapshot()[0]:
        if not (r.series and r.status and r.status < 300):
            continue
        req = rw2.pb2().Request()
        req.ParseFromString(snappy.uncompress(r.raw))
        for ref in {ts.metadata.help_ref for ts in req.timeseries} - {0}:
            req.symbols[ref] = ""
        total += len(snappy.compress(req.SerializeToString()))
    return total


def tally(rx):
    reqs = [r for r in rx.snapshot()[0] if r.series and r.status and r.status < 300]
    return sum(len(r.raw) for r in reqs), sum(sum(r.counts()) for r in reqs), len(reqs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bpfpush", default="build/bpfpush")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--interval", default="1s")
    args = ap.parse_args()
    with RW2Receiver() as v1, RW2Receiver() as v2, tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bpfpush.yml")
        with open(path, "w") as f:
            f.write(config(v1.url, v2.url, args.interval))
        proc = subprocess.Popen([args.bpfpush, "--config", path],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        secs = float(args.interval.rstrip("s"))
        time.sleep(args.rounds * secs + 2)
        proc.terminate()
        proc.wait(60)
        assert not v1.errors and not v2.errors, (v1.errors, v2.errors)
        assert all(r.v2 for r in v2.requests if r.series), "the 2.0 endpoint fell back"
        b1, n1, r1 = tally(v1)
        b2, n2, r2 = tally(v2)
        b2_nohelp = without_help(v2)
    print(f"1.0: {n1} samples in {r1} requests, {b1} bytes, {b1 / n1:.2f} B/sample")
    print(f"2.0: {n2} samples in {r2} requests, {b2} bytes, {b2 / n2:.2f} B/sample")
    print(f"2.0/1.0 bytes per sample: {(b2 / n2) / (b1 / n1):.3f}")
    print(f"2.0 with its HELP symbols emptied: {b2_nohelp / n2:.2f} B/sample, "
          f"{(b2_nohelp / n2) / (b1 / n1):.3f} of 1.0")


if __name__ == "__main__":
    main()
