#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Series churn, as issue reports measure it: a textfile whose label values
all change every PERIOD seconds (LIVE series live at any time), pushed to a
real VictoriaMetrics. Prints the agent's RSS (/proc/PID/status VmRSS) and the
registry's series count (its debug line "round collected ... series=N") over
time.

  /usr/bin/python3 test/bench/series_churn.py --bin build/bpfpush --seconds 60
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from receivers import VictoriaMetrics  # noqa: E402


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def churn(directory, live, period, stop):
    gen, next_at = 0, time.monotonic()
    while not stop.is_set():
        text = "".join(f'churn_metric{{id="{gen * live + i}"}} {gen}\n' for i in range(live))
        tmp = os.path.join(directory, ".churn.tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(directory, "churn.prom"))
        gen += 1
        next_at += period
        stop.wait(max(0.0, next_at - time.monotonic()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bpfpush")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--live", type=int, default=5000)
    ap.add_argument("--period", type=float, default=0.5)
    ap.add_argument("--interval", default="500ms")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="series_churn.")
    tdir = os.path.join(work, "textfile")
    os.mkdir(tdir)
    vm = VictoriaMetrics(work).start()
    cfg = os.path.join(work, "bpfpush.yml")
    with open(cfg, "w") as f:
        f.write(f"global: {{interval: {args.interval}}}\nhttp: {{listen_address: \"\"}}\n"
                f"collectors:\n  defaults: false\n  textfile: {{directory: {tdir}}}\n"
                f"bpf: {{defaults: false}}\nremote_write:\n  - url: {vm.write_url}\n")
    agent = subprocess.Popen([args.bin, "--config", cfg, "--log-level", "debug"],
                             stderr=subprocess.PIPE, text=True)
    series = [0]

    def follow():
        for line in agent.stderr:
            m = re.search(r'msg="round collected".* series=(\d+)', line)
            if m:
                series[0] = int(m.group(1))
    threading.Thread(target=follow, daemon=True).start()
    stop = threading.Event()
    writer = threading.Thread(target=churn, args=(tdir, args.live, args.period, stop))
    writer.start()
    t0 = time.monotonic()
    print("t_s rss_mb series")
    try:
        while time.monotonic() - t0 < args.seconds:
            time.sleep(5)
            print(f"{time.monotonic() - t0:.0f} {rss_kb(agent.pid) / 1024:.1f} {series[0]}",
                  flush=True)
    finally:
        stop.set()
        writer.join()
        agent.terminate()
        agent.wait(90)
        vm.stop()


if __name__ == "__main__":
    main()
