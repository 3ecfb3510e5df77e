"""The read side of :class:`~datasetlog.DatasetLog`: datasets, versions, and any version's rows.

Every read goes to the read models, never to event replay; each statement
sees whole commits only, and a version, once committed, never changes.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from datetime import datetime
from typing import Any

import orjson

from datasetlog.errors import ErrorDetail, NotFoundError, ValidationError
from datasetlog.models import Datapoint, Dataset, Page, Version
from datasetlog.readmodels import DatasetRow, ReadModels, VersionRow
from datasetlog.serialization import (
    datapoint_from_json,
    datapoints_from_json,
    v4_json_array,
    v4_json_page,
)
from datasetlog.store import EventStore
from datasetlog.validation import check_batch, check_page, require_id

_VERSION_LOC = ("query", "version")


class DatasetReads:
    """The read operations of DatasetLog, over a store and its read models."""

    store: EventStore
    _models: ReadModels

    def _live(self, conn: Any, dataset_id: str) -> DatasetRow:
        row = self._models.dataset(conn, require_id(dataset_id, ("path", "dataset_id")))
        if row is None:
            raise NotFoundError(f"no dataset {dataset_id!r}")
        return row

    def get_dataset(self, dataset_id: str) -> Dataset:
        """Return a live dataset and the size of its latest version.

        Raises:
            NotFoundError: No live dataset has this id.
        """
        with self.store.reading() as conn:
            return _dataset(self._live(conn, dataset_id))

    def list_datasets(self, project_id: str) -> list[Dataset]:
        """Return a project's live datasets, oldest first.

        Raises:
            ValidationError: ``project_id`` is not a non-empty string.
        """
        require_id(project_id, ("path", "project_id"))
        with self.store.reading() as conn:
            return [_dataset(row) for row in self._models.datasets(conn, project_id)]

    def _version_row(self, conn: Any, row: DatasetRow, version: int | str | None) -> VersionRow:
        if version is None:
            version = row.version
        if isinstance(version, str):
            found = self._models.version_by_id(conn, row.key, require_id(version, _VERSION_LOC))
        elif type(version) is int:
            in_range = 0 <= version < 2**63  # the largest integer the stores hold
            found = self._models.version(conn, row.key, version) if in_range else None
        else:
            raise ValidationError([ErrorDetail(_VERSION_LOC, "expected a number or id", "version")])
        if found is None:
            raise NotFoundError(f"dataset {row.id!r} has no version {version!r}")
        return found

    def _committed_version(self, conn: Any, row: DatasetRow, version: int | str) -> Version:
        return _version(row.id, self._version_row(conn, row, version))

    def get_version(self, dataset_id: str, version: int | str) -> Version:
        """Return one committed version, by number or by ``dsv_…`` id.

        Raises:
            NotFoundError: No such dataset or version.
        """
        with self.store.reading() as conn:
            return self._committed_version(conn, self._live(conn, dataset_id), version)

    def list_versions(self, dataset_id: str) -> list[Version]:
        """Return every committed version of a dataset, oldest (version 0) first.

        Raises:
            NotFoundError: No live dataset has this id.
        """
        with self.store.reading() as conn:
            row = self._live(conn, dataset_id)
            return [_version(row.id, v) for v in self._models.versions(conn, row.key)]

    def list_datapoints(
        self, dataset_id: str, *, page: int = 1, size: int = 50, version: int | str | None = None
    ) -> Page:
        """Return one page of a version's datapoints (default: the latest version).

        ``page`` counts from 1; ``size`` is at most 1,000. A page past the end is empty.

        Raises:
            ValidationError: ``page`` or ``size`` out of range.
            NotFoundError: No such dataset or version.
        """
        total, payloads = self._page(dataset_id, page, size, version, as_bytes=False)
        records = [datapoint_from_json(dataset_id, payload) for payload in payloads]
        return Page(records=records, page=page, size=size, total=total)

    def list_datapoints_json(
        self, dataset_id: str, *, page: int = 1, size: int = 50, version: int | str | None = None
    ) -> bytes:
        """Return the page :meth:`list_datapoints` returns, rendered as v4 JSON bytes.

        The stored JSON is copied, not decoded: the bytes parse to the same
        value as ``to_v4_json`` of that page, for a service to send as is.

        Raises:
            ValidationError: ``page`` or ``size`` out of range.
            NotFoundError: No such dataset or version.
        """
        total, payloads = self._page(dataset_id, page, size, version, as_bytes=True)
        records = b"".join(v4_json_array(dataset_id, [payloads]))
        return v4_json_page(records, page=page, size=size, total=total)

    def _page(
        self, dataset_id: str, page: int, size: int, version: int | str | None, *, as_bytes: bool
    ) -> tuple[int, list[Any]]:
        """The version's datapoint count and the stored payloads of one of its pages."""
        check_page(page, size)
        with self.store.reading() as conn:
            row = self._live(conn, dataset_id)
            found = self._version_row(conn, row, version)
            if (page - 1) * size >= found.datapoint_count:
                return found.datapoint_count, []
            start = self._models.rank_start(conn, row.key, found, (page - 1) * size)
            spans = self._models.spans(
                conn, row.key, found, start=start, limit=size, as_bytes=as_bytes
            )
        return found.datapoint_count, [payload for _, payload in spans]

    def iter_datapoints(
        self, dataset_id: str, *, version: int | str | None = None, batch: int = 2000
    ) -> Generator[Datapoint, None, None]:
        """Stream a version's datapoints in order, in constant memory, however many.

        SQLite reads ``batch`` rows a query; PostgreSQL streams the version from
        one query on a connection of its own, so other calls can run between
        rows. Closing the generator (or dropping it) ends the read early.

        Raises:
            NotFoundError: No such dataset or version (raised at the call).
        """
        return datapoints_from_json(dataset_id, self._chunks(dataset_id, version, batch))

    def iter_datapoints_v4(
        self, dataset_id: str, *, version: int | str | None = None, batch: int = 2000
    ) -> Generator[dict[str, Any], None, None]:
        """Stream a version's datapoints as v4 JSON dicts, skipping model objects.

        Each dict equals ``to_v4`` of the datapoint :meth:`iter_datapoints` yields.

        Raises:
            NotFoundError: No such dataset or version (raised at the call).
        """
        return self._v4_dicts(dataset_id, self._chunks(dataset_id, version, batch))

    def iter_datapoints_json(
        self, dataset_id: str, *, version: int | str | None = None, batch: int = 2000
    ) -> Generator[bytes, None, None]:
        """Stream a version's datapoints as one v4 JSON array, in pieces of up to ``batch``.

        The stored JSON is copied, not decoded, so this is the fastest way to
        serve a version: the pieces joined parse to the same value as
        ``to_v4_json`` of the datapoints :meth:`iter_datapoints` yields.

        Raises:
            NotFoundError: No such dataset or version (raised at the call).
        """
        return v4_json_array(dataset_id, self._chunks(dataset_id, version, batch, as_bytes=True))

    @staticmethod
    def _v4_dicts(
        dataset_id: str, chunks: Iterator[list[str]]
    ) -> Generator[dict[str, Any], None, None]:
        loads = orjson.loads
        for chunk in chunks:
            for payload in chunk:
                data = loads(payload)
                data["dataset_id"] = dataset_id
                yield data

    def _chunks(
        self, dataset_id: str, version: int | str | None, batch: int, *, as_bytes: bool = False
    ) -> Iterator[list[Any]]:
        """A version's stored payloads in chunks; argument and lookup errors raise here."""
        check_batch(batch)
        with self.store.reading() as conn:
            row = self._live(conn, dataset_id)
            found = self._version_row(conn, row, version)
        return self._models.payload_chunks(
            self.store, row.key, found, batch=batch, as_bytes=as_bytes
        )

    def get_datapoint(self, datapoint_id: str) -> Datapoint:
        """Return a datapoint as it stands in its dataset's latest version.

        Raises:
            NotFoundError: No datapoint of a live dataset's latest version has this id.
        """
        require_id(datapoint_id, ("path", "datapoint_id"))
        with self.store.reading() as conn:
            found = self._models.datapoint(conn, datapoint_id)
        if found is None:
            raise NotFoundError(f"no datapoint {datapoint_id!r}")
        return datapoint_from_json(*found)


def _dataset(row: DatasetRow) -> Dataset:
    return Dataset(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        description=row.description,
        datapoint_count=row.datapoint_count,
        created_at=datetime.fromisoformat(row.created_at),
        updated_at=datetime.fromisoformat(row.updated_at),
    )


def _version(dataset_id: str, row: VersionRow) -> Version:
    return Version(
        dataset_id=dataset_id,
        number=row.number,
        id=row.id,
        parent=row.number - 1 if row.number else None,
        message=row.message,
        created_at=datetime.fromisoformat(row.created_at),
        datapoint_count=row.datapoint_count,
    )
