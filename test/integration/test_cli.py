"""The command line: config errors, --check-config, --dry-run, --version."""
import glob
import os
import re
import subprocess

import pytest

from conftest import BIN, ROOT, config_text, now_ms, proc_meminfo

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
