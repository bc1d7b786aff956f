"""Imports a script of scripts/ as a module, so tests call its functions directly."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.support.helm import CHART


def load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, CHART / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
