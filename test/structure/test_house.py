# SPDX-License-Identifier: MIT
"""The house rules, checked on every `make test`: folders are layers and
#include only goes down the flow; no source file over 700 lines, no
function over 50; every source file names its licence; comments cite
docs/design.md, not documents the repository does not hold."""
import os
import re
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Lowest first. A file may include headers of its own folder and of the
# folders below it; collectors and bpf are both sources of samples, bpf's
# collectors implementing the interface collectors/collector.h declares.
LAYERS = ["lib", "config", "proto", "queue", "series", "collectors", "bpf", "agent"]
RANK = {name: i for i, name in enumerate(LAYERS)}
GENERATED = re.compile(r"(^|/)vmlinux\.h$")


def tracked(*patterns):
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                          *patterns], cwd=ROOT, capture_output=True, text=True, check=True)
    return [p for p in out.stdout.split() if not GENERATED.search(p)
            and os.path.exists(os.path.join(ROOT, p))]


def production_sources():
    return [p for p in tracked("*.c", "*.h") if p.split("/")[0] in RANK]


def read(path):
    with open(os.path.join(ROOT, path), errors="replace") as f:
        return f.read()


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def upward_includes(path):
    """(included, why) for each #include of a layer above path's own."""
    layer = path.split("/")[0]
    bad = []
    for inc in INCLUDE.findall(read(path)):
        target = inc.split("/")[0] if "/" in inc else layer
        if target == "build":  # generated skeletons and protobuf code
            continue
        if target not in RANK:
            bad.append((inc, "not in a layer folder"))
        elif RANK[target] > RANK[layer]:
            bad.append((inc, f"{target}/ is above {layer}/"))
    return bad


def test_every_source_file_is_in_a_layer():
    stray = [p for p in tracked("*.c", "*.h")
             if p.split("/")[0] not in RANK and not p.startswith("test/")]
    assert stray == []


def test_includes_only_go_down():
    bad = {p: b for p in production_sources() if (b := upward_includes(p))}
    assert bad == {}


def test_the_check_catches_an_include_up(tmp_path):
    """The rule above must be able to fail."""
    probe = "queue/.probe_upward.c"
    with open(os.path.join(ROOT, probe), "w") as f:
        f.write('#include "agent/main.h"\n#include "lib/log.h"\n')
    try:
        assert upward_includes(probe) == [("agent/main.h", "agent/ is above queue/")]
    finally:
        os.unlink(os.path.join(ROOT, probe))


def test_no_source_file_over_700_lines():
    long = {p: n for p in tracked("*.c", "*.h")
            if (n := read(p).count("\n")) > 700}
    assert long == {}


def function_lengths(text):
    """(name, body lines) of each function in the house's style: the
    opening brace of a function body alone at column 0, the closing one
    likewise."""
    lines = text.split("\n")
    out, start, name = [], None, None
    for i, line in enumerate(lines):
        if line.startswith("{") and start is None:
            start = i
            head = " ".join(lines[max(0, i - 3):i])
            m = re.findall(r"(\w+)\s*\(", head)
            name = m[0] if m else f"line {i + 1}"
        elif line.startswith("}") and start is not None:
            if not line.startswith("};"):
                out.append((name, i - start - 1))
            start = None
    return out


def test_no_function_over_50_lines():
    long = {f"{p}:{name}": n for p in production_sources() if p.endswith(".c")
            for name, n in function_lengths(read(p)) if n > 50}
    assert long == {}


def test_every_source_file_names_its_licence():
    missing = [p for p in tracked("*.c", "*.h", "*.py", "*.sh", "Makefile")
               if "SPDX-License-Identifier:" not in read(p)[:400]]
    assert missing == []


def test_comments_cite_the_design_doc_not_outside_documents():
    cites = [p for p in tracked("*.c", "*.h", "*.py", "*.md")
             if re.search(r"\bseed[ _]?0\d\d\b", read(p), re.I)]
    assert cites == []


def test_every_unit_test_links_only_its_layers():
    """A unit test without its own object list in the Makefile links every
    object, BPF skeletons included, and so needs clang and bpftool."""
    makefile = read("Makefile")
    missing = [t for t in tracked("test/unit/test_*.c")
               if f"UNIT_OBJS_{os.path.basename(t)[:-2]} " not in makefile]
    assert missing == []
