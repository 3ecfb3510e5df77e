"""Datapoint reads: one, a page, or a whole version streamed, as models, v4 dicts or JSON."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from typing import Any

from datasetlog.models import (
    Datapoint,
    Page,
)
from datasetlog.reads.datapoints import DatapointReads
from datasetlog.reads.history import HistoryReads
from datasetlog.reads.resolve import VersionRef


class DatapointReadOperations:
    """The datapoint read operations of :class:`~datasetlog.DatasetLog`."""

    _datapoint_reads: DatapointReads
    _history_reads: HistoryReads

    def get_datapoint(self, datapoint_id: str, *, version: VersionRef = None) -> Datapoint:
        """Return a datapoint as it stands in its dataset's latest version, or in ``version``.

        Raises:
            NotFoundError: No datapoint of a live dataset has this id, or the
                version does not hold it.
        """
        if version is None:
            return self._datapoint_reads.get_datapoint(datapoint_id)
        return self._history_reads.get_datapoint(datapoint_id, version)

    def list_datapoints(
        self,
        dataset_id: str,
        *,
        page: int = 1,
        size: int = 50,
        version: VersionRef = None,
        as_of: datetime | None = None,
    ) -> Page:
        """Return one page of a version's datapoints (default: the latest version).

        ``page`` counts from 1; ``size`` is at most 1,000. A page past the end is
        empty. ``page.version`` is the version read, whatever named it.

        Raises:
            ValidationError: ``page`` or ``size`` out of range.
            NotFoundError: No such dataset or version.
        """
        return self._datapoint_reads.list_datapoints(
            dataset_id, page=page, size=size, version=version, as_of=as_of
        )

    def list_datapoints_json(
        self,
        dataset_id: str,
        *,
        page: int = 1,
        size: int = 50,
        version: VersionRef = None,
        as_of: datetime | None = None,
    ) -> bytes:
        """Return the page :meth:`list_datapoints` returns, rendered as v4 JSON bytes.

        The stored JSON is copied, not decoded: the bytes parse to the same
        value as ``to_v4_json`` of that page, for a service to send as is.

        Raises:
            ValidationError: ``page`` or ``size`` out of range.
            NotFoundError: No such dataset or version.
        """
        return self._datapoint_reads.list_datapoints_json(
            dataset_id, page=page, size=size, version=version, as_of=as_of
        )

    def iter_datapoints(
        self,
        dataset_id: str,
        *,
        version: VersionRef = None,
        as_of: datetime | None = None,
        batch: int = 2000,
    ) -> Generator[Datapoint, None, None]:
        """Stream a version's datapoints in order, in constant memory, however many.

        SQLite reads ``batch`` rows a query; PostgreSQL streams the version from
        one query on a connection of its own, so other calls can run between
        rows. Closing the generator (or dropping it) ends the read early.

        Raises:
            NotFoundError: No such dataset or version (raised at the call).
        """
        return self._datapoint_reads.iter_datapoints(
            dataset_id, version=version, as_of=as_of, batch=batch
        )

    def iter_datapoints_v4(
        self,
        dataset_id: str,
        *,
        version: VersionRef = None,
        as_of: datetime | None = None,
        batch: int = 2000,
    ) -> Generator[dict[str, Any], None, None]:
        """Stream a version's datapoints as v4 JSON dicts, skipping model objects.

        Each dict equals ``to_v4`` of the datapoint :meth:`iter_datapoints` yields.

        Raises:
            NotFoundError: No such dataset or version (raised at the call).
        """
        return self._datapoint_reads.iter_datapoints_v4(
            dataset_id, version=version, as_of=as_of, batch=batch
        )

    def iter_datapoints_json(
        self,
        dataset_id: str,
        *,
        version: VersionRef = None,
        as_of: datetime | None = None,
        batch: int = 2000,
        lines: bool = False,
    ) -> Generator[bytes, None, None]:
        """Stream a version's datapoints as one v4 JSON array, in pieces of up to ``batch``.

        The stored JSON is copied, not decoded, so this is the fastest way to
        serve a version: the pieces joined parse to the same value as
        ``to_v4_json`` of the datapoints :meth:`iter_datapoints` yields. With
        ``lines=True`` the pieces are JSON Lines instead: one datapoint's v4
        JSON per line.

        Raises:
            NotFoundError: No such dataset or version (raised at the call).
        """
        return self._datapoint_reads.iter_datapoints_json(
            dataset_id, version=version, as_of=as_of, batch=batch, lines=lines
        )
