"""Load a script that is not part of a package (``bench/*.py``, an evaluation set's ``build.py``) as a module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_script(path: Path, name: str) -> ModuleType:
    """Import the file at ``path`` under the module name ``name`` (registered in ``sys.modules`` first: a script's
    dataclasses look their module up while the class is made)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
