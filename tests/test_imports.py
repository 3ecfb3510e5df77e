"""The package's dependency rules (STYLE.md section 2), checked by parsing every import."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "datasetlog"

# Each module's layer: a module may import only modules of lower layers. A new module
# needs a line here, which is where its place in the design gets decided.
LAYERS: dict[str, int] = {
    "datasetlog.errors": 0,
    "datasetlog.ids": 0,
    "datasetlog.models": 1,
    "datasetlog.store.base": 1,
    "datasetlog.events": 2,
    "datasetlog.store._sql": 2,
    "datasetlog.store.sqlite": 3,
    "datasetlog.store.postgres": 3,
    "datasetlog.store": 4,
    "datasetlog.serialization": 5,
    "datasetlog.validation": 6,
    "datasetlog.projector": 6,
    "datasetlog.logs": 7,
    "datasetlog.readmodels": 7,
    "datasetlog.integrity": 8,
    "datasetlog.reads": 8,
    "datasetlog.facade": 9,
    "datasetlog.cli": 10,
    "datasetlog": 11,
    "datasetlog.__main__": 11,
    "datasetlog.strategies": 11,
    "datasetlog.testing": 11,
}


def module_name(path: Path) -> str:
    """The dotted name of a module file of the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST) -> set[int]:
    """Ids of the import nodes inside ``if TYPE_CHECKING:`` blocks (type-only, no runtime edge)."""
    skipped: set[int] = set()
    for block in ast.walk(node):
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test):
            skipped |= {id(inner) for stmt in block.body for inner in ast.walk(stmt)}
    return skipped


def imports(name: str) -> Iterator[str]:
    """Every module ``name`` imports at run time, as absolute dotted names.

    ``from package import submodule`` counts as importing the submodule.
    """
    path = MODULES[name]
    tree = ast.parse(path.read_text(), str(path))
    skipped = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield candidate if candidate in MODULES else base


def importers_of(top_level: str) -> set[str]:
    """The package modules that import ``top_level`` or any module below it."""
    return {
        name
        for name in MODULES
        if any(i == top_level or i.startswith(top_level + ".") for i in imports(name))
    }


def test_every_module_has_a_layer() -> None:
    """Each module of the package is placed in LAYERS."""
    assert sorted(set(MODULES) - set(LAYERS)) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_upward_imports(name: str) -> None:
    """A module imports only package modules of a lower layer."""
    upward = [
        target
        for target in imports(name)
        if target in MODULES and LAYERS.get(target, 99) >= LAYERS.get(name, -1)
    ]
    assert upward == []


def test_cattrs_only_in_serialization_and_validation() -> None:
    """Only serialization.py and validation.py import cattrs."""
    allowed = {"datasetlog.serialization", "datasetlog.validation"}
    assert importers_of("cattrs") <= allowed


def test_sqlite_utils_only_in_the_sqlite_store_and_logs() -> None:
    """Only store/sqlite.py and logs.py import sqlite_utils."""
    assert importers_of("sqlite_utils") <= {"datasetlog.store.sqlite", "datasetlog.logs"}


def test_psycopg_only_in_the_postgres_store() -> None:
    """Only store/postgres.py (and the test kit, which starts servers) import the driver."""
    assert importers_of("psycopg") <= {"datasetlog.store.postgres", "datasetlog.testing"}


def test_stores_never_import_domain_modules() -> None:
    """Stores import only errors and each other: never events, models or serialization."""
    for name in MODULES:
        if name == "datasetlog.store" or name.startswith("datasetlog.store."):
            own = {i for i in imports(name) if i.startswith("datasetlog")}
            outside = {i for i in own if not i.startswith("datasetlog.store")}
            assert outside <= {"datasetlog.errors"}, name


def test_projector_never_imports_a_store() -> None:
    """The projector folds the events it is given and touches no store."""
    assert not [i for i in imports("datasetlog.projector") if i.startswith("datasetlog.store")]


def test_no_runtime_module_imports_the_strategies() -> None:
    """The Hypothesis strategies stay a test kit: nothing in the package imports them."""
    assert importers_of("datasetlog.strategies") == set()
    assert importers_of("hypothesis") <= {"datasetlog.strategies"}
