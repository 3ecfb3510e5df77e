"""Reads of a version's datapoints: pages, whole versions streamed, and single datapoints."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from datetime import datetime
from typing import Any

import attrs

from datasetlog.errors import NotFoundError
from datasetlog.models import Datapoint, Page, Version
from datasetlog.readmodels.access import ReadModels
from datasetlog.readmodels.layers import view_of
from datasetlog.readmodels.paging import rank_start
from datasetlog.reads.resolve import VersionRef, resolve_version
from datasetlog.serialization.converter import converter
from datasetlog.serialization.decode import (
    datapoint_from_json,
    datapoints_from_json,
    stored_datapoint,
)
from datasetlog.serialization.v4 import v4_dicts, v4_json_array, v4_json_lines, v4_json_page
from datasetlog.store.base import SQLStore
from datasetlog.validation.fields import DATASET_ID, require_batch, require_id, require_page

At = datetime | None
"""An instant to read the version of that was the latest then (see ``resolve_version``)."""


@attrs.frozen
class _PagePayloads:
    """One page of a version: the version read and the page's stored payloads."""

    version: Version
    payloads: list[Any]

    @property
    def total(self) -> int:
        """How many datapoints the version holds."""
        return self.version.datapoint_count


class DatapointReads:
    """Datapoints of any version, as the read models of one store hold them."""

    def __init__(self, store: SQLStore, models: ReadModels) -> None:
        self._store = store
        self._lookups = models.lookups
        self._spans = models.spans

    def list_datapoints(
        self, dataset_id: str, *, page: int, size: int, version: VersionRef, as_of: At
    ) -> Page:
        """One page of a version; see ``DatasetLog.list_datapoints``."""
        found = self._page(dataset_id, page, size, version, as_of, as_bytes=False)
        records = [datapoint_from_json(dataset_id, payload) for payload in found.payloads]
        return Page(records=records, page=page, size=size, total=found.total, version=found.version)

    def list_datapoints_json(
        self, dataset_id: str, *, page: int, size: int, version: VersionRef, as_of: At
    ) -> bytes:
        """One page of a version as v4 JSON bytes; see ``DatasetLog.list_datapoints_json``."""
        found = self._page(dataset_id, page, size, version, as_of, as_bytes=True)
        records = b"".join(v4_json_array(dataset_id, [found.payloads]))
        read = converter.unstructure(found.version)
        return v4_json_page(records, page=page, size=size, total=found.total, version=read)

    def _page(
        self,
        dataset_id: str,
        page: int,
        size: int,
        version: VersionRef,
        as_of: At,
        *,
        as_bytes: bool,
    ) -> _PagePayloads:
        require_page(page, size)
        require_id(dataset_id, DATASET_ID)
        with self._store.reading() as conn:
            dataset = self._lookups.live(conn, dataset_id)
            found = resolve_version(self._lookups, conn, dataset, version, as_of=as_of)
            read = found.to_version(dataset.id)
            if (page - 1) * size >= found.datapoint_count:
                return _PagePayloads(read, [])
            view = view_of(conn, dataset, found)
            start = rank_start(conn, view, (page - 1) * size)
            rows = self._spans.rows(conn, view, start, size, as_bytes=as_bytes)
        return _PagePayloads(read, [payload for _, payload in rows])

    def iter_datapoints(
        self, dataset_id: str, *, version: VersionRef, as_of: At, batch: int
    ) -> Generator[Datapoint, None, None]:
        """A version's datapoints, streamed; see ``DatasetLog.iter_datapoints``."""
        return datapoints_from_json(dataset_id, self._chunks(dataset_id, version, as_of, batch))

    def iter_datapoints_v4(
        self, dataset_id: str, *, version: VersionRef, as_of: At, batch: int
    ) -> Generator[dict[str, Any], None, None]:
        """A version's datapoints as v4 dicts; see ``DatasetLog.iter_datapoints_v4``."""
        return v4_dicts(dataset_id, self._chunks(dataset_id, version, as_of, batch))

    def iter_datapoints_json(
        self, dataset_id: str, *, version: VersionRef, as_of: At, batch: int, lines: bool
    ) -> Generator[bytes, None, None]:
        """A version as one v4 JSON array (or JSON Lines) in pieces; see
        ``DatasetLog.iter_datapoints_json``."""
        chunks = self._chunks(dataset_id, version, as_of, batch, as_bytes=True)
        return (v4_json_lines if lines else v4_json_array)(dataset_id, chunks)

    def _chunks(
        self,
        dataset_id: str,
        version: VersionRef,
        as_of: At,
        batch: int,
        *,
        as_bytes: bool = False,
    ) -> Iterator[list[Any]]:
        """A version's stored payloads in chunks; argument and lookup errors raise here."""
        require_batch(batch)
        require_id(dataset_id, DATASET_ID)
        with self._store.reading() as conn:
            dataset = self._lookups.live(conn, dataset_id)
            found = resolve_version(self._lookups, conn, dataset, version, as_of=as_of)
            view = view_of(conn, dataset, found)
        return self._spans.chunks(self._store, view, batch=batch, as_bytes=as_bytes)

    def get_datapoint(self, datapoint_id: str) -> Datapoint:
        """A datapoint of a latest version; see ``DatasetLog.get_datapoint``."""
        require_id(datapoint_id, ("path", "datapoint_id"))
        with self._store.reading() as conn:
            found = self._spans.layering.datapoint(conn, self._lookups, datapoint_id)
        if found is None:
            raise NotFoundError(f"no datapoint {datapoint_id!r}")
        return stored_datapoint(found.dataset_id, datapoint_id, found.payload)
