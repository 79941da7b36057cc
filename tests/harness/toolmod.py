"""The tools under test, loaded from tools/ by file name (some names, such as
browser-check.py, are not importable as modules). Registered in sys.modules
before they run, as dataclasses require. Used by the tests in this folder."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load(name: str, filename: str | None = None):
    """tools/<filename or name.py> as the module `name`."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / (filename or f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
