# SPDX-License-Identifier: MIT
"""The status page (GET /) of an agent with BPF collectors pushing into a
real VictoriaMetrics and into an endpoint that refuses connections: every
section is there, a collector that is off says why, each histogram's SVG
has one bar per non-empty slot of the same round's /metrics, headless
Chromium renders it without a console message (the screenshot is kept),
and a request made while a reload is in progress is answered at once."""
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from html.parser import HTMLParser

from conftest import BIN
from receivers import free_port, http_get

SECTIONS = ("endpoints", "collectors", "bpf-programs", "histograms")
BUCKET = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)_bucket\{(.*)\} (\S+)$')
LE = re.compile(r'(?:^|,)le="([^"]*)"')


class Page(HTMLParser):
    """What the test reads of the page: sections, the collectors' rows,
    each SVG's bars (data-le), the round."""

    def __init__(self, text):
        super().__init__()
        self.sections, self.svgs, self.rows, self.round = set(), [], {}, {}
        self._row = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.add(a.get("id"))
        elif tag == "p" and a.get("id") == "round":
            self.round = a
        elif tag == "svg" and a.get("class") == "hist":
            self.svgs.append({"family": a["data-family"], "labels": a["data-labels"],
                              "les": []})
        elif tag == "rect" and a.get("class") == "bar":
            self.svgs[-1]["les"].append(a["data-le"])
        elif tag == "tr" and "data-collector" in a:
            self._row = a["data-collector"]
            self.rows[self._row] = {"class": a.get("class", ""), "text": ""}

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._row:
            self.rows[self._row]["text"] += data


def nonempty_slots(metrics):
    """{(family, labels without le): [le of each bucket holding any]} from
    the exposition text, labels as the text format spells them."""
    cumulative = {}
    for line in metrics.splitlines():
        m = BUCKET.match(line)
        if not m:
            continue
        le = LE.search(m.group(2)).group(1)
        rest = LE.sub("", m.group(2)).lstrip(",")
        cumulative.setdefault((m.group(1), rest), []).append((le, float(m.group(3))))
    slots = {}
    for key, buckets in cumulative.items():
        buckets.sort(key=lambda b: float(b[0]))
        before, slots[key] = 0.0, []
        for le, count in buckets:
            if count > before:
                slots[key].append(le)
            before = count
    return slots


def same_round(base):
    """The page and /metrics of one round (rounds_total tells)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = http_get(base + "/").decode()
        metrics = http_get(base + "/metrics").decode()
        m = re.search(r"^bpfpush_collection_rounds_total\{[^}]*\} (\S+)$", metrics, re.M)
        page = Page(text)
        if m and page.round.get("data-rounds") == "%.0f" % float(m.group(1)):
            return text, page, metrics
    raise TimeoutError("no page and /metrics of the same round")


def config(port, vm_url, dead_url):
    text = ("global:\n  interval: 1s\n  data_dir: \"\"\n"
            "collectors:\n  defaults: false\n  loadavg: {}\n"
            "bpf:\n  defaults: false\n  runqlat: {}\n  biolatency: {}\n  softirq: {}\n"
            f"http:\n  listen_address: 127.0.0.1:{port}\nremote_write:\n"
            f"  - url: {vm_url}\n    name: vm\n"
            "    queue_config: {batch_send_deadline: 1s}\n")
    if dead_url:
        text += f"  - url: {dead_url}\n    name: dead\n"
    return text


def chromium(url, tmp_path, *mode):
    """Headless Chromium on url: (stdout, stderr). Its profile in tmp_path,
    so that runs in parallel do not share one."""
    run = subprocess.run(
        [shutil.which("chromium") or "/usr/bin/chromium", "--headless", "--no-sandbox",
         "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={tmp_path}/chromium",
         "--enable-logging=stderr", "--v=0", *mode, url],
        capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout, run.stderr


def wait_for_page(base, ready):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            text = http_get(base + "/").decode()
            if ready(text):
                return text
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the page never showed what the test waits for")


def check_page(base):
    text, page, metrics = same_round(base)
    assert set(SECTIONS) <= page.sections, page.sections
    assert 'http-equiv="refresh"' in text and "<script" not in text
    # No external asset: nothing loaded, every link local.
    assert " src=" not in text and not re.search(r'href="(?!/|data:)', text)
    # Off, and why: the hook the test hid.
    assert "off" in page.rows["softirq"]["class"], page.rows
    assert "kernel lacks its hook" in page.rows["softirq"]["text"], page.rows["softirq"]
    assert "ok" in page.rows["runqlat"]["text"], page.rows["runqlat"]
    slots = nonempty_slots(metrics)
    for svg in page.svgs:
        assert svg["les"] == slots[(svg["family"], svg["labels"])], svg
    drawn = {(s["family"], s["labels"]) for s in page.svgs}
    assert drawn == set(slots), set(slots) ^ drawn
    assert any(s["family"] == "kernel_runqueue_latency_seconds" and s["les"]
               for s in page.svgs), page.svgs
    return text


def check_chromium(base, tmp_path):
    dom, _ = chromium(base + "/", tmp_path, "--dump-dom")
    for section in SECTIONS:
        assert f'<section id="{section}">' in dom
    assert "<rect" in dom  # the SVG is in the DOM
    shot = os.path.join(os.path.dirname(BIN), "status-page.png")
    _, log = chromium(base + "/", tmp_path, f"--screenshot={shot}", "--window-size=1100,1500")
    assert os.path.getsize(shot) > 10000
    # No script, no missing resource: the console says nothing.
    assert "CONSOLE" not in log, [line for line in log.splitlines() if "CONSOLE" in line]


def reload_while_reading(base, cfg_path, text):
    """Reloads to a config without the dead endpoint: its queue flushes
    until --flush-deadline (3 s) in the reload; GET / answers meanwhile."""
    with open(cfg_path, "w") as f:
        f.write(text)
    answer = {}

    def post():
        req = urllib.request.Request(base + "/-/reload", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=60) as r:
            answer["status"] = r.status
    t = threading.Thread(target=post)
    t.start()
    time.sleep(0.5)
    times = []
    while t.is_alive() and len(times) < 5:
        started = time.monotonic()
        with urllib.request.urlopen(base + "/", timeout=10) as r:
            assert r.status == 200
            assert "<section id=\"endpoints\">" in r.read().decode()
        times.append(time.monotonic() - started)
        time.sleep(0.2)
    during = t.is_alive()
    t.join(60)
    assert answer.get("status") == 200
    assert during and times, "the reload ended before a request was made during it"
    assert max(times) < 1.0, times


def test_status_page(vm, tmp_path):
    port, base = free_port(), None
    base = f"http://127.0.0.1:{port}"
    dead = f"http://127.0.0.1:{free_port()}/api/v1/write"
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text(config(port, vm.write_url, dead))
    env = dict(os.environ, BPFPUSH_BPF_HIDE_HOOKS="softirq_entry")
    proc = subprocess.Popen([BIN, "--config", str(cfg), "--enable-bpf-stats",
                             "--bpf-stats-duty", "always", "--flush-deadline", "3s"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        # Data flowed: vm took a batch, runqlat saw waits.
        wait_for_page(base, lambda t: "s ago</td>" in t and
                      'data-family="kernel_runqueue_latency_seconds"' in t and
                      'class="bar"' in t)
        check_page(base)
        check_chromium(base, tmp_path)
        reload_while_reading(base, str(cfg), config(port, vm.write_url, None))
        wait_for_page(base, lambda t: ">dead<br>" not in t)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
