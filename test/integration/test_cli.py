# SPDX-License-Identifier: MIT
"""The command line: config errors, --check-config, --dry-run, --version."""
import glob
import os
import re
import subprocess
import time
import urllib.request

import pytest

from conftest import BIN, ROOT, config_text, log_lines, now_ms, proc_meminfo
from receivers import free_port

BAD_CONFIGS = sorted(glob.glob(os.path.join(ROOT, "test/configs/bad/*.yml")))


def expectation(path):
    with open(path) as f:
        first = f.readline()
    m = re.match(r"#\s*expect:\s*(\d+):(\d+):\s*(.*\S)", first)
    assert m, f"{path}: first line must be '# expect: LINE:COL: message'"
    return int(m.group(1)), int(m.group(2)), m.group(3)


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("path", BAD_CONFIGS, ids=os.path.basename)
@pytest.mark.parametrize("flag", ["--check-config", "--config"])
def test_bad_config_exits_2_with_file_line_col(path, flag):
    line, col, message = expectation(path)
    r = run(flag, path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"{path}:{line}:{col}: "), first
    assert message in first, first


def test_there_are_bad_config_fixtures():
    assert len(BAD_CONFIGS) >= 10


def test_good_configs_check_ok():
    paths = glob.glob(os.path.join(ROOT, "test/configs/good/*.yml")) + \
        glob.glob(os.path.join(ROOT, "deploy/examples/*.yml"))
    assert len(paths) >= 3
    for path in paths:
        r = run("--check-config", path)
        assert r.returncode == 0, (path, r.stderr)


def test_readme_config_example_is_valid(tmp_path):
    """The configuration shown in the README is one a user can copy."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    block = readme.split("## Configuration", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "readme.yml"
    path.write_text(block)
    r = run("--check-config", str(path))
    assert r.returncode == 0, r.stderr


def test_missing_config_file_exits_2():
    r = run("--check-config", "/nonexistent/bpfpush.yml")
    assert r.returncode == 2 and "/nonexistent/bpfpush.yml" in r.stderr


def test_unknown_flag_exits_2():
    assert run("--no-such-flag").returncode == 2


def test_version():
    r = run("--version")
    assert r.returncode == 0 and re.match(r"bpfpush \d+\.\d+\.\d+", r.stdout)


def test_dry_run_prints_exposition_format_and_pushes_nothing(tmp_path, agent):
    ts = now_ms() - 60_000
    tdir = tmp_path / "tf"
    tdir.mkdir()
    (tdir / "a.prom").write_text(f'reading{{k="v"}} 3 {ts}\n')
    # An unreachable URL: a dry run must not even try it.
    cfg = config_text(["http://127.0.0.1:1/api/v1/write"], collectors=(
        f"meminfo: {{}}\n  loadavg: {{}}\n  textfile: {{directory: {tdir}}}"))
    r = agent(cfg).run("--dry-run", "--once")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.\n" in out
    assert "# TYPE node_memory_MemTotal_bytes gauge\n" in out
    host = os.uname().nodename
    assert (f'node_memory_MemTotal_bytes{{instance="{host}",job="bpfpush"}} '
            f'{proc_meminfo("MemTotal")}\n') in out
    assert f'reading{{instance="{host}",job="bpfpush",k="v"}} 3 {ts}\n' in out
    assert 'node_scrape_collector_success{collector="meminfo",instance=' in out
    assert "connection refused" not in r.stderr.lower()


# Every BPF collector with a hook option, and the choices it offers.
HOOK_CHOICES = {
    "biolatency": '"auto", "tp_btf" or "raw_tp"',
    "tcp_sendmsg": '"auto", "tp_btf", "raw_tp", "fentry" or "kprobe"',
    "tcp_states": '"auto", "tp_btf", "raw_tp" or "tracepoint"',
    "tcp_retransmits": '"auto", "tp_btf", "raw_tp" or "tracepoint"',
    "skb_drops": '"auto", "raw_tp" or "tracepoint"',
    "timers": '"auto", "raw_tp" or "tracepoint"',
    "writeback": '"auto", "raw_tp" or "tracepoint"',
}


@pytest.mark.parametrize("collector", sorted(HOOK_CHOICES))
def test_unknown_hook_is_a_config_error(tmp_path, collector):
    """A hook a collector does not offer fails the load at the value, not
    the collector at run time."""
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text("bpf:\n  %s:\n    hook: kprobes\n" % collector)
    r = run("--check-config", str(cfg))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.splitlines()[0] == '%s:3:11: "hook": expected %s, got "kprobes"' % (
        cfg, HOOK_CHOICES[collector]), r.stderr


# Every option with a ceiling: (section, collector, option, its maximum).
OPTION_MAXIMA = [
    ("bpf", "biolatency", "max_devices", 256),
    ("bpf", "biolatency", "max_inflight", 1 << 20),
    ("bpf", "runqlat", "max_cgroups", 65536),
    ("bpf", "runqlat", "max_inflight", 1 << 22),
    ("bpf", "skb_drops", "max_ports", 65536),
    ("bpf", "syscalls", "max_inflight", 1 << 22),
    ("bpf", "tcp_states", "max_inflight", 1 << 21),
    ("bpf", "tcp_states", "top_ports", 65536),
    ("bpf", "timers", "max_functions", 512),
    ("bpf", "writeback", "max_pairs", 65536),
    ("collectors", "filesystem", "stat_workers", 64),
]


@pytest.mark.parametrize("section,collector,option,maximum", OPTION_MAXIMA)
def test_option_past_its_maximum_is_a_config_error(tmp_path, section, collector, option,
                                                   maximum):
    """A map size or count past what the collector can take fails the load at
    the value, naming the maximum; the maximum itself loads."""
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text("%s:\n  %s:\n    %s: %d\n" % (section, collector, option, maximum + 1))
    r = run("--check-config", str(cfg))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.splitlines()[0] == '%s:3:%d: "%s": must be <= %d, got %d' % (
        cfg, 7 + len(option), option, maximum, maximum + 1), r.stderr
    cfg.write_text("%s:\n  %s:\n    %s: %d\n" % (section, collector, option, maximum))
    r = run("--check-config", str(cfg))
    assert r.returncode == 0, r.stderr


def without_mask(text):
    """text with the mask itself taken out: what is left must not hold the
    password "secret"."""
    return text.replace("<secret>", "")


# URLs check-config rejects, each with a password in it.
BAD_URLS_WITH_PASSWORD = [
    "http://user:secret@127.0.0.1:99999/api/v1/write",   # bad port
    "http://user:secret@/api/v1/write",                   # no host
    "ftp://user:secret@lts.example/x",                    # not http(s)
    "http:/user:secret@lts.example/api/v1/write",         # one slash short
    "user:secret@lts.example:8428/api/v1/write",          # no scheme
]


@pytest.mark.parametrize("url", BAD_URLS_WITH_PASSWORD)
def test_check_config_error_masks_url_password(tmp_path, url):
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text('remote_write:\n  - url: "%s"\n' % url)
    r = run("--check-config", str(cfg))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.startswith(f'{cfg}:2:10: "url": '), r.stderr
    assert "<secret>@" in r.stderr, r.stderr
    assert "secret" not in without_mask(r.stdout + r.stderr), r.stdout + r.stderr


INSECURE = ("remote_write:\n"
            "  - url: https://user:secret@127.0.0.1:{port}/api/v1/write\n"
            "    name: lts\n"
            "    remote_timeout: 2s\n"
            "    tls_config: {{insecure_skip_verify: true}}\n"
            "  - url: http://127.0.0.1:{port}/verified\n"
            "    remote_timeout: 2s\n")


def test_check_config_warns_about_insecure_skip_verify_without_the_password(tmp_path):
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text(INSECURE.format(port=1))
    r = run("--check-config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{cfg}: ok\n"
    warn = log_lines(r.stderr, level="warn", msg="insecure_skip_verify")
    assert len(warn) == 1, r.stderr
    assert "remote_name=lts " in warn[0], warn
    assert "url=https://<secret>@127.0.0.1:1/api/v1/write" in warn[0], warn
    assert "secret" not in without_mask(r.stdout + r.stderr)


def scrape(base):
    with urllib.request.urlopen(base + "/metrics", timeout=5) as resp:
        return resp.read().decode()


def test_insecure_skip_verify_is_logged_once_and_exported(agent):
    """One warning per insecure endpoint at start, a gauge for each endpoint,
    and the password in none of the agent's log lines or labels (the
    endpoint is down, so the send failures are logged too)."""
    port, status_port = free_port(), free_port()
    base = f"http://127.0.0.1:{status_port}"
    a = agent(INSECURE.format(port=port) +
              "global: {interval: 1s, data_dir: \"\"}\ncollectors: {defaults: false, loadavg: {}}\n"
              f"http: {{listen_address: 127.0.0.1:{status_port}}}\n")
    a.start("--flush-deadline", "1s")
    gauge = "bpfpush_remote_storage_tls_insecure_skip_verify{"
    body, deadline = "", time.monotonic() + 20
    try:
        while gauge not in body and time.monotonic() < deadline:
            try:
                body = scrape(base)
            except OSError:
                time.sleep(0.1)
        time.sleep(2.5)  # a send attempt fails and is logged meanwhile
    finally:
        rc, out, err = a.stop()
    assert rc == 0, err
    lines = [line for line in body.splitlines() if line.startswith(gauge)]
    assert sorted(lines) == sorted([
        gauge + 'instance="%s",job="bpfpush",remote_name="lts",'
        'url="https://<secret>@127.0.0.1:%d/api/v1/write"} 1' % (os.uname().nodename, port),
        gauge + 'instance="%s",job="bpfpush",remote_name="127.0.0.1:%d",'
        'url="http://127.0.0.1:%d/verified"} 0' % (os.uname().nodename, port, port),
    ]), lines
    warn = log_lines(err, level="warn", msg="insecure_skip_verify")
    assert len(warn) == 1, err
    assert "remote_name=lts url=https://<secret>@127.0.0.1:%d/api/v1/write" % port in warn[0]
    assert log_lines(err, msg="remote_write send failed", remote_name="lts"), err
    assert "secret" not in without_mask(body + out + err)


def alias_bomb(n_headers=2000, n_endpoints=1000):
    """40 KB: one mapping of 2,000 headers and 998 aliases of an endpoint
    that holds it, which a walk sees as 1,000 endpoints of 2,000 headers."""
    lines = ["remote_write:", "  - url: http://127.0.0.1:1/api/v1/write", "    headers: &h"]
    lines += ["      X-H%d: v" % i for i in range(n_headers)]
    lines += ["  - &e {url: 'http://127.0.0.1:1/api/v1/write', headers: *h}"]
    lines += ["  - *e"] * (n_endpoints - 2)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("flag", ["--check-config", "--config"])
def test_alias_bomb_fails_fast(tmp_path, flag):
    cfg = tmp_path / "bomb.yml"
    cfg.write_text(alias_bomb())
    started = time.monotonic()
    r = run(flag, str(cfg))
    took = time.monotonic() - started
    assert r.returncode == 2, (r.returncode, r.stderr[-500:])
    # Each endpoint is 4,005 nodes: the 23rd alias of it passes 100,000.
    assert r.stderr.splitlines()[0] == (
        f"{cfg}:2027:5: alias *e expands the document past 100000 YAML nodes "
        "(limit 100000; an alias counts every node it repeats)"), r.stderr
    assert took < 5, f"took {took:.1f} s"


def test_a_mapping_of_50000_headers_checks_fast(tmp_path):
    """No aliases, just a wide mapping just under the node limit: the
    duplicate-key check must not compare every key with every other."""
    cfg = tmp_path / "wide.yml"
    cfg.write_text("remote_write:\n  - url: http://127.0.0.1:1/api/v1/write\n    headers:\n" +
                   "".join("      X-H%d: v\n" % i for i in range(49990)))
    started = time.monotonic()
    r = run("--check-config", str(cfg))
    took = time.monotonic() - started
    assert r.returncode == 0, r.stderr
    assert took < 5, f"took {took:.1f} s"


@pytest.mark.parametrize("text,line,col,message", [
    ("global:\n  histograms: natve\n", 2, 15,
     '"histograms": expected "classic", "native" or "both", got "natve"'),
    ("bpf:\n  runqlat: {histograms: 1}\n", 2, 25,
     '"histograms": expected "global", "classic", "native" or "both", got "1"'),
    ("collectors:\n  cpu: {histograms: native}\n", 2, 9,
     'unknown option "histograms" for collector "cpu"'),
])
def test_histograms_option_is_checked(tmp_path, text, line, col, message):
    """global.histograms and a BPF collector's own (no other collector has
    one); every good value loads."""
    cfg = tmp_path / "bpfpush.yml"
    cfg.write_text(text)
    r = run("--check-config", str(cfg))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.splitlines()[0].startswith(f"{cfg}:{line}:{col}: {message}"), r.stderr
    for forms in ("classic", "native", "both"):
        cfg.write_text(f"global: {{histograms: {forms}}}\n"
                       f"bpf: {{runqlat: {{histograms: {forms}}}, syscalls: {{histograms: global}}}}\n")
        r = run("--check-config", str(cfg))
        assert r.returncode == 0, r.stderr
