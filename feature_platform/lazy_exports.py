"""Names a package exports but imports on first use (PEP 562), so importing it stays cheap.

Every command line call is a fresh process: a package that imported its whole public surface up
front would make `feature-platform list` pay for pyiceberg's writers, the compaction code or
pandas. A package declares ``name -> module`` once and installs the two hooks this returns.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], public: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The `__getattr__` and `__dir__` of `package`, loading each export from its module.

    Args:
        package: The package's `__name__`.
        exports: Exported name -> the module that defines it.
        public: The package's `__all__`, listed by `dir()`.
    """
    names = tuple(public)

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        vars(sys.modules[package])[name] = value  # later lookups skip this hook
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__
