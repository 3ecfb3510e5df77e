"""What every state machine of the kit shares: the DatasetLog under test, from opening to clean-up.

Every machine takes how to open the DatasetLog under test and runs from a
factory that builds one machine, on a fresh store, for each example, as
zarr's store machines do::

    from functools import partial
    from hypothesis.stateful import run_state_machine_as_test
    from datasetlog import DatasetLog
    from datasetlog.testing.upserts import UpsertMachine

    def test_my_backend():
        run_state_machine_as_test(lambda: UpsertMachine(partial(DatasetLog, MyStore())))

The machines: :class:`~datasetlog.testing.stateful.DatasetLogMachine` (the v4
operations, valid and invalid, against a plain model),
:class:`~datasetlog.testing.navigation.NavigationMachine` (adds names, tags,
restores and reads across versions, against the projector),
:class:`~datasetlog.testing.upserts.UpsertMachine` (adds upserts and streamed
writes: every rule of the three) and
:class:`~datasetlog.testing.forks.ForkMachine` (forks and merges). Each takes
``open_db`` and ``cleanup`` as :class:`BaseMachine` does, and the first three
``reopens=True`` where ``open_db`` opens the same store again (a path or a
URL, not a store object). Whatever the factory makes for one machine (a
folder, a schema) goes in ``cleanup``::

    def test_my_backend_on_disk(tmp_path):
        def machine():
            folder = Path(tempfile.mkdtemp(dir=tmp_path))
            return UpsertMachine(
                partial(DatasetLog, folder / "store.db"),
                reopens=True,
                cleanup=partial(shutil.rmtree, folder),
            )

        run_state_machine_as_test(machine)

A subclass may add rules, or override one (decorated again, or hypothesis
drops it).

Added in 0.2.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

try:
    from hypothesis.stateful import RuleBasedStateMachine
except ImportError as error:
    raise ImportError(
        "datasetlog.testing.machine needs hypothesis: pip install 'datasetlog[testing]'"
    ) from error

from datasetlog import DatasetLog, DictLogSource, LogSource
from datasetlog.testing.oracle import LOGS


class OpenDb(Protocol):
    """How a machine opens the DatasetLog under test: ``partial(DatasetLog, where)`` fits."""

    def __call__(
        self, *, logs: LogSource, clock: Callable[[], datetime]
    ) -> DatasetLog:  # pragma: no cover - a signature
        """Open it with this log source and clock."""


class BaseMachine(RuleBasedStateMachine):
    """The DatasetLog under test, opened with the machine's clock and logs, closed and cleaned
    up after; a machine of the kit adds the rules.

    Args:
        open_db: Opens the DatasetLog on a fresh store, given the ``logs`` and
            ``clock`` keyword arguments to pass on.
        cleanup: Called once the run is over, after the DatasetLog is closed:
            also when closing fails, and when opening it does.
    """

    def __init__(self, open_db: OpenDb, *, cleanup: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.open_db = open_db
        self.cleanup = cleanup
        self.ticks = 0
        self.source = DictLogSource(LOGS)
        try:
            self.db = self.open()
        except BaseException:
            # hypothesis tears down only the machines a factory returned
            self.clean_up()
            raise

    def clock(self) -> datetime:
        """A clock that moves 1 ms per reading, so every write has a later time."""
        self.ticks += 1
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=self.ticks)

    def open(self) -> DatasetLog:
        """Open the DatasetLog under test, with the machine's log source and clock."""
        return self.open_db(logs=self.source, clock=self.clock)

    def clean_up(self) -> None:
        """Run the clean-up, if there is one."""
        if self.cleanup is not None:
            self.cleanup()

    def teardown(self) -> None:
        """Close the DatasetLog, then clean up after it, whether or not closing failed."""
        try:
            self.db.close()
        finally:
            self.clean_up()
