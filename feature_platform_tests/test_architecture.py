"""The package's shape holds: tiers import downwards only, no import cycles, short functions.

These rules are what keep the house readable as it grows (issue 15): the domain library never
needs Dagster, the Dagster layer never depends on the demo, and a function a reader cannot hold
in view is split. Imports are read from the source with `ast` (nothing is imported), including
imports inside functions; imports under ``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "feature_platform"
MAX_FUNCTION_LINES = 80

# The Dagster layer and what is built on it (the entry points, the CLI, the demo's run);
# everything else is the plain library.
DAGSTER_TIER = ("orchestration", "definitions", "cli", "demo")


@dataclass(frozen=True)
class Import:
    """One import statement of a module: where it is and the modules it names."""

    module: str
    line: int
    targets: tuple[str, ...]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped = _type_checking_lines(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or node.lineno in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, node.lineno, (alias.name,))
        else:
            base = _resolve(module, path, node)
            yield Import(module, node.lineno, (base, *(f"{base}.{a.name}" for a in node.names)))


def import_graph() -> dict[str, dict[str, int]]:
    """Module -> the package modules it imports, with the line of the first such import."""
    modules = package_modules()
    graph: dict[str, dict[str, int]] = {name: {} for name in modules}
    for name, path in modules.items():
        for statement in imports_of(name, path):
            submodules = [t for t in statement.targets[1:] if t in modules]
            # `from package import submodule` depends on the submodule (the package's own
            # `__init__` has run by then anyway); `from package import name` on the package.
            for target in submodules or statement.targets[:1]:
                if target in modules and target != name:
                    graph[name].setdefault(target, statement.line)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def _tier(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_import_cycles_inside_the_package() -> None:
    graph = import_graph()
    found = cycles(graph)
    described = [
        "; ".join(f"{m} imports {t} (line {graph[m][t]})" for m in c for t in graph[m] if t in c)
        for c in found
    ]
    assert not found, "import cycles:\n" + "\n".join(described)


def test_the_cycle_finder_sees_a_cycle() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_library_never_imports_dagster() -> None:
    offenders = [
        f"{statement.module}:{statement.line} imports {target}"
        for name, path in package_modules().items()
        if _tier(name) not in DAGSTER_TIER
        for statement in imports_of(name, path)
        for target in statement.targets
        if target.split(".")[0] in {"dagster", "dagster_aws", "dagster_snowflake"}
    ]
    # dagster-snowflake's SnowflakeResource is the one connection class the library may open
    # lazily (inside a function), since Snowflake gives no lighter supported client.
    offenders = [o for o in offenders if "dagster_snowflake" not in o]
    assert not offenders, "\n".join(offenders)


def test_the_dagster_layer_never_imports_the_demo() -> None:
    offenders = [
        f"{statement.module}:{statement.line} imports {target}"
        for name, path in package_modules().items()
        if _tier(name) == "orchestration"
        for statement in imports_of(name, path)
        for target in statement.targets
        if target.startswith("feature_platform.demo")
    ]
    assert not offenders, "\n".join(offenders)


def long_functions(path: Path, limit: int) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.name}:{node.lineno} {node.name} is {length} lines"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1) > limit
    ]


def test_no_function_is_longer_than_80_lines() -> None:
    found = [
        f"{path.parent.relative_to(ROOT)}/{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in long_functions(path, MAX_FUNCTION_LINES)
    ]
    assert not found, "\n".join(found)


def test_the_length_check_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    path = tmp_path / "probe.py"
    path.write_text(f"def long():\n{body}\n\n\ndef short():\n    pass\n")
    assert long_functions(path, MAX_FUNCTION_LINES) == [
        f"probe.py:1 long is {MAX_FUNCTION_LINES + 1} lines"
    ]


@pytest.mark.parametrize("tier", ["offline_store", "online_store", "training", "maintenance"])
def test_the_stores_do_not_import_the_layers_above(tier: str) -> None:
    above = {"orchestration", "cli", "definitions", "registry", "demo"}
    offenders = [
        f"{statement.module}:{statement.line} imports {target}"
        for name, path in package_modules().items()
        if _tier(name) == tier
        for statement in imports_of(name, path)
        for target in statement.targets
        if target.startswith("feature_platform.") and _tier(target) in above
    ]
    assert not offenders, "\n".join(offenders)


README = ROOT / "README.md"


def package_map() -> str:
    """The README's package map: the `text` block right after "## Development"."""
    text = README.read_text()
    section = text[text.index("## Development") :]
    start = section.index("```text\nfeature_platform/\n") + len("```text\n")
    return section[start : section.index("```", start)]


def mapped_modules(block: str) -> set[str]:
    """Module paths (`offline_store/writes.py`) named in the map: a `name/` line opens a package
    for the lines indented deeper; `.py` names on a line belong to the package it is inside."""
    modules: set[str] = set()
    stack: list[tuple[int, str]] = [(-1, "")]
    for line in block.splitlines():
        code = line.split("#")[0]
        if not code.strip():
            continue
        indent = len(code) - len(code.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        words = code.split()
        if words[0].endswith("/"):
            stack.append((indent, stack[-1][1] + words[0]))
            modules.add(stack[-1][1])
            words = words[1:]
        modules.update(stack[-1][1] + word for word in words if word.endswith(".py"))
    return {module for module in modules if module.startswith("feature_platform/")}


def test_the_readme_package_map_names_every_module_and_nothing_else() -> None:
    tree = {
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if not path.name.startswith("__") and "templates" not in path.parts
    }
    tree |= {"feature_platform/"} | {
        f"{path.relative_to(ROOT)}/"
        for path in PACKAGE.rglob("*")
        if path.is_dir() and not {"__pycache__", "templates"} & set(path.parts)
    }
    mapped = mapped_modules(package_map())
    assert sorted(tree - mapped) == [], "in the tree, not in the README's package map"
    assert sorted(mapped - tree) == [], "in the README's package map, not in the tree"


def test_the_map_reader_follows_indentation() -> None:
    block = "feature_platform/\n  a.py  # x.py in a comment\n  pkg/  # y\n    b.py c.py\n  d.py\n"
    assert mapped_modules(block) == {
        "feature_platform/",
        "feature_platform/a.py",
        "feature_platform/pkg/",
        "feature_platform/pkg/b.py",
        "feature_platform/pkg/c.py",
        "feature_platform/d.py",
    }
