"""The package's dependency rules, checked by parsing every import, wherever it is written.

Imports inside functions and under ``if TYPE_CHECKING:`` count like any other:
a cycle hidden there is still a cycle in the design.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "datasetlog"

# Each module group's layer: a module may import modules of lower layers, and of its own
# group (the cycle test keeps those acyclic). A new group needs a line here, which is where
# its place in the design gets decided.
LAYERS: dict[str, int] = {
    "datasetlog.errors": 0,
    "datasetlog.ids": 0,
    "datasetlog.store": 1,
    "datasetlog.models": 1,
    "datasetlog.messages": 1,
    "datasetlog.content": 2,
    "datasetlog.requests": 2,
    "datasetlog.events": 2,
    "datasetlog.serialization": 3,
    "datasetlog.validation": 4,
    "datasetlog.projector": 4,
    "datasetlog.sources": 5,
    "datasetlog.readmodels": 5,
    "datasetlog.reads": 6,
    "datasetlog.integrity": 6,
    "datasetlog.writes": 7,  # writes resolve version references through reads.resolve
    "datasetlog.facade": 8,
    "datasetlog.transfer": 11,  # over the public API (datasetlog) only
    "datasetlog.cli": 12,  # over the public API and datasetlog.transfer
    "datasetlog.__main__": 13,
    "datasetlog": 10,
    "datasetlog.testing": 11,
}


def module_name(path: Path) -> str:
    """The dotted name of a module file."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
BENCHMARKS = {module_name(path): path for path in sorted((ROOT / "benchmarks").glob("*.py"))}
ALL = {**MODULES, **BENCHMARKS}


def group(name: str) -> str:
    """The layer group of a module: the longest prefix named in LAYERS."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in LAYERS:
            return candidate
    raise KeyError(name)


def imports(name: str, modules: dict[str, Path] = ALL) -> Iterator[str]:
    """Every module ``name`` imports anywhere in its file, as absolute dotted names.

    ``from package import submodule`` counts as importing the submodule.
    """
    path = modules[name]
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield candidate if candidate in modules else base


def own_imports(name: str, modules: dict[str, Path] = ALL) -> set[str]:
    """The modules of ``modules`` that ``name`` imports."""
    return {t for t in imports(name, modules) if t in modules and t != name}


def importers_of(top_level: str) -> set[str]:
    """The package modules that import ``top_level`` or any module below it."""
    return {
        name
        for name in MODULES
        if any(i == top_level or i.startswith(top_level + ".") for i in imports(name))
    }


def cycles(modules: dict[str, Path]) -> list[list[str]]:
    """The import cycles among ``modules`` (strongly connected groups of two or more)."""
    graph = {name: sorted(own_imports(name, modules)) for name in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for name in graph:
        if name not in index:
            visit(name)
    return found


def test_every_module_has_a_layer() -> None:
    """Each module of the package belongs to a group placed in LAYERS."""
    assert [name for name in MODULES if group(name) not in LAYERS] == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_upward_imports(name: str) -> None:
    """A module imports only modules of a lower layer or of its own group."""
    own = group(name)
    upward = [
        target
        for target in own_imports(name)
        if target in MODULES and group(target) != own and LAYERS[group(target)] >= LAYERS[own]
    ]
    assert upward == []


def test_the_package_has_no_import_cycles() -> None:
    """No chain of imports in datasetlog/ leads back to where it started."""
    assert cycles(MODULES) == []


def test_the_benchmarks_have_no_import_cycles() -> None:
    """No chain of imports in benchmarks/ leads back to where it started."""
    assert cycles(BENCHMARKS) == []


def test_the_cycle_finder_sees_imports_inside_functions_and_type_checking(
    tmp_path: Path,
) -> None:
    """The checks above can fail: cycles through hidden imports are found."""
    (tmp_path / "a.py").write_text("import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from a import x\n")
    (tmp_path / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import d\n"
    )
    (tmp_path / "d.py").write_text("import c\n")
    modules = {name: tmp_path / f"{name}.py" for name in "abcd"}
    assert cycles(modules) == [["a", "b"], ["c", "d"]]


def test_cattrs_only_in_the_converter_and_strict_validation() -> None:
    """Only serialization/converter.py and validation/strict.py import cattrs."""
    allowed = {"datasetlog.serialization.converter", "datasetlog.validation.strict"}
    assert importers_of("cattrs") <= allowed


def test_sqlite_utils_only_in_the_sqlite_store_and_log_source() -> None:
    """Only the SQLite store's modules and sources/sqlite.py import sqlite_utils."""
    allowed = {
        "datasetlog.store.sqlite",
        "datasetlog.store.sqlite_schema",
        "datasetlog.sources.sqlite",
    }
    assert importers_of("sqlite_utils") <= allowed


def test_psycopg_only_in_the_postgres_store() -> None:
    """Only the PostgreSQL store's modules (and the test kit, which starts servers) import it."""
    allowed = {
        "datasetlog.store.postgres",
        "datasetlog.store.postgres_outcome",
        "datasetlog.store.postgres_schema",
        "datasetlog.store.postgres_streams",
        "datasetlog.testing.postgres",
    }
    assert importers_of("psycopg") <= allowed


def test_stores_never_import_domain_modules() -> None:
    """Stores import only errors and each other: never events, models or serialization."""
    for name in MODULES:
        if group(name) == "datasetlog.store":
            outside = {i for i in own_imports(name) if group(i) != "datasetlog.store"}
            assert outside <= {"datasetlog.errors"}, name


def test_projector_never_imports_a_store() -> None:
    """The projector folds the events it is given and touches no store."""
    assert not [i for i in own_imports("datasetlog.projector") if group(i) == "datasetlog.store"]


def test_no_runtime_module_imports_the_test_kit() -> None:
    """The test kit stays a kit: nothing outside datasetlog.testing imports it or its tools."""
    outside = {name for name in MODULES if group(name) != "datasetlog.testing"}
    assert importers_of("datasetlog.testing") & outside == set()
    assert importers_of("hypothesis") & outside == set()
    assert importers_of("pytest") & outside == set()


def _texts(name: str) -> Iterator[str]:
    """Every string constant of a module, f-string parts included."""
    tree = ast.parse(MODULES[name].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


STORE_NAMES = ("dl_commits", "dl_events", "dl_migrations", "sqlite_schema", "information_schema")


@pytest.mark.parametrize("name", sorted(n for n in MODULES if group(n) != "datasetlog.store"))
def test_only_the_stores_name_their_tables_and_catalogs(name: str) -> None:
    """Outside store/, no module names the event tables or a database's catalog."""
    assert [t for t in _texts(name) for word in STORE_NAMES if word in t] == []


def test_only_the_schema_module_creates_read_model_tables() -> None:
    """Outside store/, only readmodels/schema.py declares tables (no CREATE TABLE text)."""
    creating = {name for name in MODULES for t in _texts(name) if "CREATE TABLE" in t}
    assert {n for n in creating if group(n) != "datasetlog.store"} == set()


def test_commit_messages_are_written_in_one_place() -> None:
    """Only messages.py spells an automatic commit message (the test kit's oracle aside)."""
    starts = ("Add ", "Delete ", "Update datapoint", "Create dataset")
    runtime = [name for name in MODULES if group(name) != "datasetlog.testing"]
    spelled = {
        name for name in runtime for t in _texts(name) if t.startswith(starts) and len(t) < 40
    }
    assert spelled <= {"datasetlog.messages"}
