#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""How long /healthz takes on bpfpush's status endpoint while it is attacked:
  slowloris   one client sending one header byte every 0.9 s
  idle        1,000 connections that connect and say nothing
Each attack runs against a fresh agent (loadavg only, no remote_write) on a
free loopback port; /healthz is probed every 0.3 s for --seconds, each probe
waiting up to --probe-timeout. Prints one line per attack:
  attack  probes  answered  median_s  max_s
Loopback only; every process and socket it opens is closed at the end.

  /usr/bin/python3 test/bench/status_attacks.py [--bpfpush build/bpfpush]
"""
import argparse
import os
import resource
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe(base, timeout):
    started = time.monotonic()
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=timeout) as r:
            r.read()
    except OSError:
        return None
    return time.monotonic() - started


def start_agent(binary, tmp, port):
    path = os.path.join(tmp, f"bpfpush-{port}.yml")
    with open(path, "w") as f:
        f.write("global:\n  interval: 1s\ncollectors:\n  defaults: false\n  loadavg: {}\n"
                f"bpf:\n  defaults: false\nhttp:\n  listen_address: 127.0.0.1:{port}\n")
    proc = subprocess.Popen([binary, "--config", path], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and probe(base, 1) is None:
        time.sleep(0.1)
    return proc, base


def slowloris(port, stop):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")

    def drip():
        while not stop.wait(0.9):
            try:
                s.sendall(b"a")
            except OSError:
                return
    threading.Thread(target=drip, daemon=True).start()
    return [s]


def idle(port, stop):
    conns = []
    for _ in range(1000):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        conns.append(s)
    return conns


def run(binary, tmp, name, attack, args):
    port = free_port()
    proc, base = start_agent(binary, tmp, port)
    stop = threading.Event()
    conns = attack(port, stop)
    latencies = []
    try:
        time.sleep(0.5)
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            latencies.append(probe(base, args.probe_timeout))
            time.sleep(0.3)
    finally:
        stop.set()
        for s in conns:
            s.close()
        proc.terminate()
        proc.wait(30)
    answered = [t for t in latencies if t is not None]
    med = f"{statistics.median(answered):.3f}" if answered else "-"
    worst = f"{max(answered):.3f}" if answered else "-"
    print(f"{name:10s} {len(latencies):6d} {len(answered):9d} {med:>9s} {worst:>7s}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bpfpush", default="build/bpfpush")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--probe-timeout", type=float, default=30)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1500:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    print("attack     probes  answered  median_s   max_s")
    with tempfile.TemporaryDirectory() as tmp:
        run(args.bpfpush, tmp, "slowloris", slowloris, args)
        run(args.bpfpush, tmp, "idle-1000", idle, args)


if __name__ == "__main__":
    main()
