# SPDX-License-Identifier: MIT
"""One agent per host: global.data_dir is locked (flock on DATA_DIR/lock,
holding the pid), so a second agent with the same data_dir refuses to
start, whatever its listen address."""
import os

from conftest import config_text, log_lines
from receivers import free_port


def config(vm, data_dir, listen):
    return config_text([vm.write_url], collectors="loadavg: {}", interval="1s",
                       extra=f"http:\n  listen_address: \"{listen}\"\n", data_dir=data_dir)


def test_a_second_agent_with_the_same_data_dir_refuses_to_start(agent, vm, tmp_path):
    data_dir = tmp_path / "state" / "bpfpush"  # created, parents too
    first = agent(config(vm, data_dir, f"127.0.0.1:{free_port()}")).start(follow=True)
    try:
        assert first.wait_for(1, 20, msg="bpfpush started"), "first agent did not start"
        assert (data_dir / "lock").read_text() == f"{first.proc.pid}\n"
        # Another listen address, so only the lock can stop it (the first
        # agent has read its config file; this one takes its place).
        second = agent(config(vm, data_dir, f"127.0.0.1:{free_port()}"))
        r = second.run("--once", timeout=60)
        assert r.returncode == 1, r.stderr
        lines = log_lines(r.stderr, msg="data_dir is in use by another bpfpush")
        assert lines, r.stderr
        assert f"data_dir={data_dir}" in lines[0] and f"pid={first.proc.pid}" in lines[0]
        assert not log_lines(r.stderr, msg="bpfpush started")
        assert first.proc.poll() is None
    finally:
        rc, _, err = first.stop()
    assert rc == 0, err
    # The lock goes with the process: the file left behind does not block.
    r = agent(config(vm, data_dir, "")).run("--once", timeout=60)
    assert r.returncode == 0, r.stderr
    assert (data_dir / "lock").exists()


def test_a_data_dir_that_cannot_be_created_stops_the_agent(agent, vm, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = agent(config(vm, blocker / "sub", "")).run("--once", timeout=60)
    assert r.returncode == 1, r.stderr
    lines = log_lines(r.stderr, msg="data_dir: cannot open its lock")
    assert lines and f"data_dir={blocker / 'sub'}" in lines[0], r.stderr


def test_no_data_dir_means_no_lock(agent, vm, tmp_path):
    r = agent(config_text([vm.write_url], collectors="loadavg: {}",
                          extra='http:\n  listen_address: ""\n')).run("--once", timeout=60)
    assert r.returncode == 0, r.stderr
    assert not any("lock" in name for name in os.listdir(tmp_path))
