# SPDX-License-Identifier: MIT
"""The textfile collector's bounds, on the real binary: a file over
max_file_bytes is refused without being read (node_textfile_scrape_error 1,
one log line), and a big file that is read does not keep its memory once it
is gone. Resident memory is read from /proc/PID/status."""
import os
import time
import urllib.error
import urllib.request

from conftest import log_lines
from receivers import free_port

BIG_BYTES = 150 * 1024 * 1024
MIB = 1024 * 1024


def config(textfile_dir, port, options=""):
    """Only the textfile collector, every second, nothing pushed; /metrics
    on port shows each round."""
    return ("global:\n  interval: 1s\n  data_dir: \"\"\n"
            "collectors:\n  defaults: false\n"
            f"  textfile: {{directory: {textfile_dir}{options}}}\n"
            "bpf:\n  defaults: false\n"
            f"http:\n  listen_address: 127.0.0.1:{port}\n")


def vm_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise KeyError("VmRSS")


def metrics(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return r.read().decode()
    except (OSError, urllib.error.HTTPError):
        return ""


def wait_metrics(port, needle, timeout=20):
    """Waits for a /metrics page that contains needle; the page or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = metrics(port)
        if needle in page:
            return page
        time.sleep(0.1)
    return None


def write_big(path, sample):
    """A comment line of BIG_BYTES, then one sample line; renamed into place
    so that no round sees it half-written. One line: the collector reads a
    file in pieces, and only a line longer than a piece grows its buffer."""
    chunk = b"x" * MIB
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"# ")
        for _ in range(BIG_BYTES // MIB):
            f.write(chunk)
        f.write(b"\n" + sample.encode())
    os.rename(tmp, path)


def value(page, series):
    """The value of the first line of page that starts with series."""
    for line in page.splitlines():
        if line.startswith(series):
            return float(line.rsplit(" ", 1)[1])
    return None


def hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise KeyError("VmHWM")


def test_a_file_over_max_file_bytes_is_not_read(agent, tmp_path):
    tdir = tmp_path / "textfile"
    tdir.mkdir()
    (tdir / "ok.prom").write_text("ok_metric 1\n")
    port = free_port()
    a = agent(config(tdir, port)).start(follow=True)
    try:
        assert wait_metrics(port, "ok_metric{") is not None, "no round within 20 s"
        before = vm_rss(a.proc.pid)
        write_big(str(tdir / "big.prom"), "big_metric 1\n")
        a.wait_for(1, 20, msg="textfile skipped")
        time.sleep(2.5)  # more rounds with the file there
        page = metrics(port)
        during = vm_rss(a.proc.pid)
        os.unlink(tdir / "big.prom")
        time.sleep(2.5)
        after = vm_rss(a.proc.pid)
        page_after = metrics(port)
    finally:
        rc, _, err = a.stop()
    assert rc == 0, err
    print(f"VmRSS before {before / MIB:.1f} MiB, with the file {during / MIB:.1f} MiB, "
          f"after deleting it {after / MIB:.1f} MiB")
    # Never read: memory stays where it was, during and after.
    assert during < before + 32 * MIB, (before, during)
    assert after < before + 32 * MIB, (before, after)
    skipped = log_lines(err, msg="textfile skipped")
    assert len(skipped) == 1, err
    assert "big.prom" in skipped[0] and "over max_file_bytes (67108864)" in skipped[0], skipped
    assert value(page, "node_textfile_scrape_error{") == 1, page
    assert "big_metric" not in page
    assert value(page, "ok_metric{") == 1, page
    assert value(page_after, "node_textfile_scrape_error{") == 0, page_after


def test_a_big_file_read_gives_its_memory_back_once_gone(agent, tmp_path):
    tdir = tmp_path / "textfile"
    tdir.mkdir()
    (tdir / "ok.prom").write_text("ok_metric 1\n")
    port = free_port()
    a = agent(config(tdir, port, ", max_file_bytes: 268435456")).start(follow=True)
    try:
        assert wait_metrics(port, "ok_metric{") is not None, "no round within 20 s"
        before = vm_rss(a.proc.pid)
        write_big(str(tdir / "big.prom"), "big_metric 1\n")
        assert wait_metrics(port, "big_metric{") is not None, "big file not read within 20 s"
        time.sleep(1.5)  # another round with it
        peak = hwm(a.proc.pid)
        os.unlink(tdir / "big.prom")
        time.sleep(2.5)  # rounds without it
        after = vm_rss(a.proc.pid)
    finally:
        rc, _, err = a.stop()
    assert rc == 0, err
    print(f"VmRSS before {before / MIB:.1f} MiB, peak {peak / MIB:.1f} MiB, "
          f"after deleting it {after / MIB:.1f} MiB")
    assert not log_lines(err, msg="textfile skipped"), err
    # It was read whole (the peak shows it), and its buffer is not kept.
    assert peak > before + 100 * MIB, (before, peak)
    assert after < before + 32 * MIB, (before, peak, after)
