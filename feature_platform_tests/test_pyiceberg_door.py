"""pyiceberg's private API is reached through one module only, so an upgrade is read in one place.

`feature_platform.offline_store.iceberg_internals` names the pinned version and, per private
name, why it is used. Anywhere else, a private pyiceberg name or attribute would change
silently with a pyiceberg release.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "feature_platform"
DOOR = PACKAGE / "offline_store" / "iceberg_internals.py"
SELF_NAMES = frozenset({"self", "cls"})


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _from_pyiceberg(module: str | None) -> bool:
    return module is not None and (module == "pyiceberg" or module.startswith("pyiceberg."))


class _Reach(ast.NodeVisitor):
    """Collects the places that reach into pyiceberg's private API."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []
        self.pyiceberg_names: set[str] = set()  # names bound to pyiceberg imports
        self.other_imports: set[str] = set()  # names bound to any other import
        self.classes: list[bool] = []  # per enclosing class: does it subclass pyiceberg?

    def imports(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    is_ours = _from_pyiceberg(alias.name)
                    (self.pyiceberg_names if is_ours else self.other_imports).add(bound)
            elif isinstance(node, ast.ImportFrom):
                is_ours = _from_pyiceberg(node.module) and node.level == 0
                for alias in node.names:
                    bound = alias.asname or alias.name
                    (self.pyiceberg_names if is_ours else self.other_imports).add(bound)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if _from_pyiceberg(alias.name) and any(map(_private, alias.name.split("."))):
                self.found.append((node.lineno, f"import {alias.name}"))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not _from_pyiceberg(node.module):
            return
        assert node.module is not None
        if any(map(_private, node.module.split("."))):
            self.found.append((node.lineno, f"from {node.module} import ..."))
        for alias in node.names:
            if _private(alias.name):
                self.found.append((node.lineno, f"from {node.module} import {alias.name}"))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(any(_root(base) in self.pyiceberg_names for base in node.bases))
        self.generic_visit(node)
        self.classes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if self.classes and self.classes[-1] and _private(node.name):
            self.found.append((node.lineno, f"def {node.name} overrides a pyiceberg internal"))
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _private(node.attr) and self._may_be_pyiceberg(node.value):
            self.found.append((node.lineno, f"attribute .{node.attr}"))
        self.generic_visit(node)

    def _may_be_pyiceberg(self, value: ast.expr) -> bool:
        """Whether `value` may be a pyiceberg object: anything but our own instance or class, or
        a module or object imported from another library (``threading._register_atexit``)."""
        root = _root(value)
        if root in SELF_NAMES:
            return bool(self.classes) and self.classes[-1]
        return root not in self.other_imports or root in self.pyiceberg_names


def _root(node: ast.expr) -> str | None:
    """The name an expression starts from (``a`` of ``a.b.c``, ``a(...)``, ``a[...]``)."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def private_reaches(source: str) -> list[tuple[int, str]]:
    """(line, what) for every place in `source` that reaches into pyiceberg's private API."""
    tree = ast.parse(source)
    reach = _Reach()
    reach.imports(tree)
    reach.visit(tree)
    return sorted(reach.found)


def test_only_the_door_reaches_into_pyiceberg_internals() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {what}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != DOOR
        for line, what in private_reaches(path.read_text())
    ]
    assert not found, (
        "pyiceberg's private API is used outside "
        f"{DOOR.relative_to(PACKAGE.parent)}; add a typed function there and call it:\n"
        + "\n".join(found)
    )


def test_the_door_does_reach_in() -> None:
    """The door is where the private names are: were it empty, the check would prove nothing."""
    assert len(private_reaches(DOOR.read_text())) > 5


@pytest.mark.parametrize(
    ("source", "reported"),
    [
        (
            "from pyiceberg.io.pyarrow import _dataframe_to_data_files",
            "from pyiceberg.io.pyarrow import _dataframe_to_data_files",
        ),
        ("import pyiceberg.table._x", "import pyiceberg.table._x"),
        ("from pyiceberg.table._x import y", "from pyiceberg.table._x import ..."),
        ("def f(producer):\n    return producer._transaction._table", "attribute ._transaction"),
        ("def f(producer):\n    return producer.transaction._table", "attribute ._table"),
        ("from pyiceberg.table import Table\ndef f(t: Table):\n    t._x", "attribute ._x"),
        ("class C:\n    def f(self):\n        return super()._summary()", "attribute ._summary"),
        (
            "from pyiceberg.a import B\nclass C(B):\n    def f(self):\n        self._x",
            "attribute ._x",
        ),
        (
            "from pyiceberg.a import B\nclass C(B):\n    def _hook(self):\n        pass",
            "def _hook overrides a pyiceberg internal",
        ),
    ],
)
def test_each_kind_of_reach_is_found(source: str, reported: str) -> None:
    assert reported in [what for _, what in private_reaches(source)]


@pytest.mark.parametrize(
    "source",
    [
        "import threading\nthreading._register_atexit(print)",
        "class C:\n    def f(self):\n        return self._x",
        "from pyiceberg.table import Table\nfrom polars._typing import TimeUnit",
    ],
)
def test_our_own_and_other_libraries_private_names_are_not_reported(source: str) -> None:
    assert private_reaches(source) == []
