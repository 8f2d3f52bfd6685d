# SPDX-License-Identifier: MIT
"""Runtime tests: the agent as the deploy files run it (runc with the
DaemonSet's settings, the systemd unit's settings). They share the
integration tests' fixtures (receivers)."""
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
