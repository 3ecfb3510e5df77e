"""What the read-model lookups return: rows as named records, and the models they stand for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import attrs

from datasetlog.errors import StoreError
from datasetlog.models import Dataset, ForkPoint, Version, make_version

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def instant_us(value: datetime) -> int:
    """An aware datetime as whole microseconds since the Unix epoch: comparable across offsets."""
    return (value - _EPOCH) // timedelta(microseconds=1)


@contextmanager
def _sound(what: str) -> Iterator[None]:
    """Turn a failure to read a damaged row into a StoreError naming it."""
    try:
        yield
    except (TypeError, ValueError) as error:
        raise StoreError(f"{what} is damaged ({error}); run verify()") from error


@attrs.frozen
class DatasetRow:
    """A dataset as the read model holds it; ``sequence`` is its stream's last commit."""

    key: int
    id: str
    project_id: str
    name: str
    description: str | None
    created_at: str
    updated_at: str
    deleted: int
    sequence: int
    version: int
    datapoint_count: int
    next_ordinal: int
    forked_from: str | None = None
    forked_at: int | None = None

    def to_dataset(self) -> Dataset:
        """The dataset as ``get_dataset`` returns it.

        Raises:
            StoreError: The row is damaged.
        """
        with _sound(f"the read-model row of dataset {self.id!r}"):
            return Dataset(
                id=self.id,
                project_id=self.project_id,
                name=self.name,
                description=self.description,
                datapoint_count=self.datapoint_count,
                created_at=datetime.fromisoformat(self.created_at),
                updated_at=datetime.fromisoformat(self.updated_at),
                forked_from=ForkPoint(self.forked_from, int(self.forked_at))
                if self.forked_from is not None and self.forked_at is not None
                else None,
            )


@attrs.frozen
class VersionRow:
    """A committed version as the read model holds it.

    ``ordinal_bound`` is one past the highest ordinal any datapoint of the
    dataset had by then: the ordinals ``[bound(n - 1), bound(n))`` are the
    datapoints version ``n`` added. ``commit_position`` is the global
    position of the commit that made it, whose hash heads the chain up to it.
    """

    number: int
    id: str
    message: str
    created_at: str
    datapoint_count: int
    ordinal_bound: int
    name: str | None
    description: str | None
    commit_position: int

    def to_version(self, dataset_id: str) -> Version:
        """The version as ``get_version`` returns it.

        Raises:
            StoreError: The row is damaged.
        """
        with _sound(f"the read-model row of version {self.number!r} of {dataset_id!r}"):
            return make_version(
                dataset_id=dataset_id,
                number=self.number,
                id=self.id,
                message=self.message,
                created_at=datetime.fromisoformat(self.created_at),
                datapoint_count=self.datapoint_count,
                name=self.name,
                description=self.description,
            )


@attrs.frozen
class LabelRow:
    """A version name or a tag: which version it names, and since when."""

    label: str
    kind: str
    version: int
    set_at: str


@attrs.frozen
class DatapointRow:
    """A datapoint's latest content in a live dataset: its dataset and stored JSON payload."""

    dataset_id: str
    payload: str


@attrs.frozen
class HeldRow:
    """A datapoint a dataset holds or held: whether it is live, and its latest stored JSON."""

    live: bool
    payload: str


@attrs.frozen
class MergeRow:
    """A merge into a dataset: the version it made, and the source version it brought in."""

    version: int
    source_id: str
    source_version: int


@attrs.frozen
class IdempotencyRow:
    """The request an idempotency key was first used with, and the version it committed."""

    request_hash: str
    version: int
