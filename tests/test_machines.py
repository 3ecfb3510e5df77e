"""The shipped state machines as a kit: each runs from a factory, holds every rule written for it,
and cleans up after itself however its run ends."""

from __future__ import annotations

import ast
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

import datasetlog.testing
from datasetlog import DatasetLog, StoreError
from datasetlog.sources.base import LogSource
from datasetlog.testing.forks import ForkMachine
from datasetlog.testing.navigation import NavigationMachine
from datasetlog.testing.stateful import DatasetLogMachine
from datasetlog.testing.upserts import UpsertMachine

MACHINES: list[type[DatasetLogMachine | ForkMachine]] = [
    DatasetLogMachine,
    NavigationMachine,
    UpsertMachine,
    ForkMachine,
]
RUN_BY_THE_SUITE = [UpsertMachine, ForkMachine]
"""The machines tests/test_stateful.py and tests/test_forks_stateful.py run on every backend."""

KIT = Path(datasetlog.testing.__file__).parent
DECORATORS = {"rule", "initialize", "invariant"}


def decorated_methods() -> dict[str, set[str]]:
    """Each class of the kit's source: the methods it decorates with @rule, @initialize or
    @invariant, read from the source, not from hypothesis."""
    found: dict[str, set[str]] = {}
    for path in sorted(KIT.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                calls = [
                    d.func for d in getattr(item, "decorator_list", []) if isinstance(d, ast.Call)
                ]
                if any(isinstance(f, ast.Name) and f.id in DECORATORS for f in calls):
                    assert isinstance(item, ast.FunctionDef)
                    found.setdefault(node.name, set()).add(item.name)
    return found


def owner(machine: type, name: str) -> type:
    """The class of the machine's MRO whose ``name`` the machine runs (hypothesis collects a
    machine's rules as its attributes, so an override hides the method it overrides)."""
    return next(cls for cls in machine.__mro__ if name in vars(cls))


def test_every_rule_of_the_kit_runs_on_a_machine_the_suite_runs() -> None:
    """Every rule, initializer and invariant written in datasetlog.testing is one the machines
    run on every backend inherit, unhidden: none sits in a class no such machine is built on."""
    unrun = {
        f"{cls}.{name}"
        for cls, names in decorated_methods().items()
        for name in names
        if not any(
            owner(machine, name).__name__ == cls
            for machine in RUN_BY_THE_SUITE
            if any(c.__name__ == cls for c in machine.__mro__)
        )
    }
    assert unrun == set()


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.__name__)
def test_a_machine_runs_every_rule_it_inherits(machine: type[RuleBasedStateMachine]) -> None:
    """Where a machine overrides a rule, invariant or initializer, the override is decorated
    too, so hypothesis still collects one under that name."""
    decorated = decorated_methods()
    inherited = {name for cls in machine.__mro__ for name in decorated.get(cls.__name__, ())}
    assert inherited
    hidden = {
        name for name in inherited if name not in decorated.get(owner(machine, name).__name__, ())
    }
    assert hidden == set()


def strict_open_db(where: Path, *, logs: LogSource, clock: Callable[[], datetime]) -> DatasetLog:
    """Open a DatasetLog on a file, taking exactly the keywords every machine passes."""
    return DatasetLog(where, logs=logs, clock=clock)


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.__name__)
def test_every_machine_runs_from_a_factory_and_cleans_up(
    machine: type[DatasetLogMachine | ForkMachine], tmp_path: Path
) -> None:
    """Each machine takes the same ``open_db`` and runs from a factory of fresh stores; every
    store a run makes is cleaned up by the end of it."""
    made: list[Path] = []

    def factory() -> RuleBasedStateMachine:
        folder = Path(tempfile.mkdtemp(dir=tmp_path))
        made.append(folder)
        return machine(
            partial(strict_open_db, folder / "store.db"),
            cleanup=partial(shutil.rmtree, folder),
        )

    run_state_machine_as_test(
        factory,  # type: ignore[arg-type]  # see tests/test_stateful.py
        settings=settings(max_examples=3, stateful_step_count=4, deadline=None, derandomize=True),
    )
    assert len(made) >= 3
    assert list(tmp_path.iterdir()) == []


def failing_open(*, logs: LogSource, clock: Callable[[], datetime]) -> DatasetLog:
    """An ``open_db`` whose store cannot be opened."""
    raise StoreError("the store cannot be opened")


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.__name__)
def test_a_machine_cleans_up_when_its_store_fails_to_open(
    machine: type[DatasetLogMachine | ForkMachine],
) -> None:
    """A store that fails to open still gets its clean-up (hypothesis never tears down a
    machine whose factory raised)."""
    cleaned: list[bool] = []
    with pytest.raises(StoreError):
        machine(failing_open, cleanup=lambda: cleaned.append(True))
    assert cleaned == [True]


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.__name__)
def test_a_machine_cleans_up_when_closing_fails(
    machine: type[DatasetLogMachine | ForkMachine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clean-up runs even when closing the DatasetLog raises, and the error still shows."""
    cleaned: list[bool] = []
    instance = machine(partial(DatasetLog, ":memory:"), cleanup=lambda: cleaned.append(True))
    close = DatasetLog.close

    def close_then_fail(db: DatasetLog) -> None:
        close(db)
        raise StoreError("lost the connection while closing")

    monkeypatch.setattr(DatasetLog, "close", close_then_fail)
    with pytest.raises(StoreError):
        instance.teardown()
    assert cleaned == [True]
