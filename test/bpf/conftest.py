# SPDX-License-Identifier: MIT
"""BPF tests: real programs in the running kernel (they run as root), real
workloads, counts compared with an independent source. They share the
integration tests' fixtures (receivers, the agent runner)."""
import importlib.util
import os
import sys

_here = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(_here, "..", "integration"))
_spec = importlib.util.spec_from_file_location(
    "integration_conftest", os.path.join(_here, "..", "integration", "conftest.py"))
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

# Fixtures and helpers: vm, prom, agent, config_text, log_lines, BIN, ...
globals().update({k: v for k, v in vars(_integration).items() if not k.startswith("__")})
