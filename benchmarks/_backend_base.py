"""What a backend is: where datasetlog stores of one kind are made, measured and sized.

``benchmarks._backends`` has the SQLite backend and chooses the backends of a run;
``benchmarks._postgres`` has the PostgreSQL backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from benchmarks._datasets import open_db
from benchmarks._payloads import Body
from datasetlog import DatasetLog

ObjectSize = tuple[str, str, int]
"""(table or index name, the table it belongs to, bytes)."""

RawInsert = tuple[str, Callable[[], None]]
"""(label, a call that writes the bodies into a fresh plain table in one transaction)."""


class FloorTable(Protocol):
    """A floor: the payloads in a plain table, read with one SELECT."""

    backend: str
    location: str

    def read(self) -> int:
        """Read every row, decode it and drop it; return how many there were."""

    def close(self) -> None:
        """Close its connection."""


@dataclass
class Store:
    """A datasetlog store on one backend: where it is and the DatasetLog open on it."""

    backend: Backend
    location: str
    db: DatasetLog

    def close(self) -> None:
        self.db.close()


class Backend(ABC):
    """Where datasetlog stores of one kind are made, measured and sized."""

    name: ClassVar[str]
    """``sqlite`` or ``postgres``: the value of the tables' ``backend`` column."""

    def new_store(self, key: str) -> Store:
        """A fresh, empty datasetlog store; ``key`` names it within the run."""
        location = self.new_location(key)
        return Store(self, location, open_db(location))

    @abstractmethod
    def new_location(self, key: str) -> str:
        """Where a fresh store goes (a file path, or a URL of a fresh schema)."""

    @abstractmethod
    def after_build(self, location: str) -> None:
        """Bring a store that was just written to the state it is measured in."""

    @abstractmethod
    def floor(self, key: str, payloads: Iterable[str]) -> FloorTable:
        """A floor table holding ``payloads`` in order."""

    @abstractmethod
    def settle(self, location: str) -> None:
        """Prepare a store for a size measurement (fold logs, reclaim dead rows)."""

    @abstractmethod
    def total_bytes(self, location: str) -> int:
        """The store's size on disk."""

    @abstractmethod
    def objects(self, location: str) -> list[ObjectSize]:
        """The store's size by table and index."""

    @abstractmethod
    def raw_inserts(self, key: str, bodies: Sequence[Body]) -> list[RawInsert]:
        """The raw ways to write ``bodies`` that P7 compares with, the reference first."""

    @abstractmethod
    def describe(self) -> str:
        """One line: the backend, its version and settings."""

    @abstractmethod
    def close(self) -> None:
        """Release what the backend holds (connections, schemas)."""
