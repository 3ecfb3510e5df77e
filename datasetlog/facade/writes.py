"""Datapoint writes: add, update, delete and upsert, whole or streamed; each a new version."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, overload

from datasetlog.errors import InterruptedAfterCommit
from datasetlog.models import (
    Datapoint,
    Diff,
    UpsertResult,
    Version,
)
from datasetlog.reads.resolve import VersionRef
from datasetlog.sources.base import LogSource
from datasetlog.writes.commits import parse_version_name
from datasetlog.writes.datapoints import CreateBody, DatapointWrites
from datasetlog.writes.streams import StreamedWrites
from datasetlog.writes.upsert import UpsertWrites


class DatapointWriteOperations:
    """The datapoint write operations of :class:`~datasetlog.DatasetLog`."""

    _datapoint_writes: DatapointWrites
    _streamed_writes: StreamedWrites
    _upsert_writes: UpsertWrites
    logs: LogSource | None

    def create_datapoint(
        self,
        dataset_id: str,
        body: CreateBody,
        *,
        idempotency_key: str | None = None,
        version_name: str | None = None,
        version_description: str | None = None,
    ) -> list[Datapoint]:
        """Add datapoints as a new committed version and return them in request order.

        ``body`` is one datapoint, a list of them, or ``{"log_ids": [...]}``, as
        plain v4 JSON data or the request types. With ``idempotency_key``, a
        repeat of the same request returns the first call's datapoints without
        committing again. ``version_name`` names the new version (see
        :meth:`name_version`), ``version_description`` describes it.

        Raises:
            ValidationError: Every problem of the body, or unknown log ids.
            NotFoundError: No live dataset has this id.
            ConflictError: The idempotency key was used with another body, or the
                version name is taken.
        """
        try:
            _, datapoints = self.commit_datapoints(
                dataset_id,
                body,
                idempotency_key=idempotency_key,
                version_name=version_name,
                version_description=version_description,
            )
        except InterruptedAfterCommit as interrupted:  # carry what this call returns
            raise InterruptedAfterCommit(interrupted.result[1]) from interrupted
        return datapoints

    def commit_datapoints(
        self,
        dataset_id: str,
        body: CreateBody,
        *,
        idempotency_key: str | None = None,
        version_name: str | None = None,
        version_description: str | None = None,
    ) -> tuple[Version, list[Datapoint]]:
        """Like :meth:`create_datapoint`, but also return the version committed."""
        return self._datapoint_writes.commit(
            dataset_id,
            body,
            idempotency_key=idempotency_key,
            logs=self.logs,
            name=parse_version_name(version_name, version_description),
        )

    @overload
    def commit_datapoint_stream(
        self,
        dataset_id: str,
        batches: Iterable[Sequence[Any]],
        *,
        count: int,
        version_name: str | None = None,
        version_description: str | None = None,
        progress: Callable[[int], object] | None = None,
        dry_run: Literal[False] = False,
    ) -> Version: ...

    @overload
    def commit_datapoint_stream(
        self,
        dataset_id: str,
        batches: Iterable[Sequence[Any]],
        *,
        count: int,
        version_name: str | None = None,
        version_description: str | None = None,
        progress: Callable[[int], object] | None = None,
        dry_run: Literal[True],
    ) -> Diff: ...

    @overload
    def commit_datapoint_stream(
        self,
        dataset_id: str,
        batches: Iterable[Sequence[Any]],
        *,
        count: int,
        version_name: str | None = None,
        version_description: str | None = None,
        progress: Callable[[int], object] | None = None,
        dry_run: bool = False,
    ) -> Version | Diff: ...

    def commit_datapoint_stream(
        self,
        dataset_id: str,
        batches: Iterable[Sequence[Any]],
        *,
        count: int,
        version_name: str | None = None,
        version_description: str | None = None,
        progress: Callable[[int], object] | None = None,
        dry_run: bool = False,
    ) -> Version | Diff:
        """Add any number of datapoints as one committed version, in constant memory.

        ``batches`` yields non-empty lists of datapoint bodies (plain v4 JSON
        data, as many to a list as suits the caller); they are validated,
        stored and applied batch by batch inside one transaction, so a version
        of millions of datapoints never sits in memory. ``count`` is how many
        datapoints the batches hold, stated up front for the automatic message
        ("Add N datapoints").
        ``progress``, if given, is called with each batch's size once it is
        stored. The store's write lock is held until the last batch is in.
        ``dry_run=True`` returns the :class:`Diff` it would make (every
        datapoint added) and writes nothing.

        Raises:
            ValidationError: A bad datapoint, at ``("body", i, ...)`` with ``i``
                counted across batches, or a stream that does not hold ``count``
                datapoints; nothing is written.
            NotFoundError: No live dataset has this id.
            ConflictError: The version name is taken, or the store stayed busy.
        """
        return self._streamed_writes.commit(
            dataset_id,
            batches,
            count=count,
            name=parse_version_name(version_name, version_description),
            progress=progress,
            dry_run=dry_run,
        )

    def update_datapoint(
        self,
        datapoint_id: str,
        *,
        inputs: Mapping[str, str] | None = None,
        messages: Sequence[Any] | None = None,
        target: Mapping[str, Any] | None = None,
        version_name: str | None = None,
        version_description: str | None = None,
    ) -> Datapoint:
        """Replace the given fields of a datapoint as a new committed version.

        Fields left as ``None`` keep their content; at least one must be given.

        Raises:
            ValidationError: No field given, or a field is malformed.
            NotFoundError: No datapoint of a live dataset has this id.
            ConflictError: The version name is taken.
        """
        return self._datapoint_writes.update(
            datapoint_id,
            inputs=inputs,
            messages=messages,
            target=target,
            name=parse_version_name(version_name, version_description),
        )

    def update_datapoints(
        self,
        updates: Sequence[Mapping[str, Any]],
        *,
        version_name: str | None = None,
        version_description: str | None = None,
    ) -> list[Datapoint]:
        """Replace fields of many datapoints: one new version of each dataset they belong to.

        Each update is ``{"id": ..., "inputs": ..., "messages": ..., "target":
        ...}`` with at least one of the three, replaced as
        :meth:`update_datapoint` replaces them. Returns the datapoints as
        updated, in the order given. Added in 0.2.

        Raises:
            ValidationError: Every problem of the updates (``loc`` ``("body", i, ...)``).
            NotFoundError: An id names no datapoint of a live dataset; nothing is written.
            ConflictError: The version name is taken.
        """
        return self._datapoint_writes.update_many(
            updates, name=parse_version_name(version_name, version_description)
        )

    def delete_datapoints(
        self,
        datapoint_ids: Sequence[str],
        *,
        version_name: str | None = None,
        version_description: str | None = None,
    ) -> None:
        """Delete datapoints: one new version of each dataset they belong to, atomically.

        ``version_name`` names each new version (in its own dataset).

        Raises:
            ValidationError: The list is empty, holds a non-string or a duplicate.
            NotFoundError: An id names no datapoint of a live dataset; nothing is deleted.
            ConflictError: The version name is taken in one of the datasets.
        """
        name = parse_version_name(version_name, version_description)
        self._datapoint_writes.delete(datapoint_ids, name=name)

    @overload
    def upsert(
        self,
        dataset_id: str,
        datapoints: Any,
        *,
        action: str = "set",
        key: str | None = None,
        base: VersionRef = None,
        expected_version: int | None = None,
        dry_run: Literal[False] = False,
        allow_empty: bool = False,
        version_name: str | None = None,
        version_description: str | None = None,
        idempotency_key: str | None = None,
    ) -> UpsertResult: ...

    @overload
    def upsert(
        self,
        dataset_id: str,
        datapoints: Any,
        *,
        action: str = "set",
        key: str | None = None,
        base: VersionRef = None,
        expected_version: int | None = None,
        dry_run: Literal[True],
        allow_empty: bool = False,
        version_name: str | None = None,
        version_description: str | None = None,
        idempotency_key: str | None = None,
    ) -> Diff: ...

    @overload
    def upsert(
        self,
        dataset_id: str,
        datapoints: Any,
        *,
        action: str = "set",
        key: str | None = None,
        base: VersionRef = None,
        expected_version: int | None = None,
        dry_run: bool = False,
        allow_empty: bool = False,
        version_name: str | None = None,
        version_description: str | None = None,
        idempotency_key: str | None = None,
    ) -> UpsertResult | Diff: ...

    def upsert(
        self,
        dataset_id: str,
        datapoints: Any,
        *,
        action: str = "set",
        key: str | None = None,
        base: VersionRef = None,
        expected_version: int | None = None,
        dry_run: bool = False,
        allow_empty: bool = False,
        version_name: str | None = None,
        version_description: str | None = None,
        idempotency_key: str | None = None,
    ) -> UpsertResult | Diff:
        """Commit ``base`` (default: the latest) with ``datapoints`` applied.

        Without ``key`` items are matched by content. ``action="set"``: the new
        version holds exactly the request's distinct contents, those already
        there keeping their ids; ``"add"``: the base and the request's contents
        it lacks; ``"remove"``: the base without the request's contents.
        Content is ``inputs``, ``messages`` and ``target`` as canonical JSON.

        With ``key`` (``"id"``, or a path such as ``"inputs.task_id"``) items
        are matched by it instead: a match of other content is an update of
        that datapoint (same id, same place; ``changed`` counts them), ``set``
        keeps the base's order for what it keeps, and an unmatched item is a
        new datapoint (with ``"id"``: an item without an id; an id the base
        lacks is refused). A key missing from an item, or given twice in the
        request or the base, is refused.

        With an older ``base`` the result is committed on top of the latest
        version. Nothing to change commits nothing. ``dry_run=True`` returns
        the :class:`Diff` from the latest version to the one the upsert would
        commit, and writes nothing. A ``set`` of no datapoints would empty the
        dataset and is refused unless ``allow_empty=True``. ``datapoints``
        takes what ``create_datapoint`` takes, but log ids (and, with
        ``key="id"``, each item's ``id``).

        Changed in 0.2: ``key=``, ``dry_run=`` and ``allow_empty=`` (a ``set``
        of nothing is refused without it).

        Raises:
            ValidationError: A bad datapoint, action, key, flag or version name;
                a key missing or repeated; an empty ``set`` without ``allow_empty``.
            NotFoundError: No such dataset or base version.
            ConflictError: The latest version is not ``expected_version``, the
                name is taken, or the idempotency key was used with another request.
        """
        return self._upsert_writes.upsert(
            dataset_id,
            datapoints,
            action=action,
            base=base,
            expected_version=expected_version,
            name=parse_version_name(version_name, version_description),
            idempotency_key=idempotency_key,
            key=key,
            dry_run=dry_run,
            allow_empty=allow_empty,
        )

    @overload
    def upsert_stream(
        self,
        dataset_id: str,
        batches: Callable[[], Iterable[Sequence[Any]]],
        *,
        action: str = "set",
        key: str | None = None,
        expected_version: int | None = None,
        dry_run: Literal[False] = False,
        allow_empty: bool = False,
        version_name: str | None = None,
        version_description: str | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> UpsertResult: ...

    @overload
    def upsert_stream(
        self,
        dataset_id: str,
        batches: Callable[[], Iterable[Sequence[Any]]],
        *,
        action: str = "set",
        key: str | None = None,
        expected_version: int | None = None,
        dry_run: Literal[True],
        allow_empty: bool = False,
        version_name: str | None = None,
        version_description: str | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> Diff: ...

    @overload
    def upsert_stream(
        self,
        dataset_id: str,
        batches: Callable[[], Iterable[Sequence[Any]]],
        *,
        action: str = "set",
        key: str | None = None,
        expected_version: int | None = None,
        dry_run: bool = False,
        allow_empty: bool = False,
        version_name: str | None = None,
        version_description: str | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> UpsertResult | Diff: ...

    def upsert_stream(
        self,
        dataset_id: str,
        batches: Callable[[], Iterable[Sequence[Any]]],
        *,
        action: str = "set",
        key: str | None = None,
        expected_version: int | None = None,
        dry_run: bool = False,
        allow_empty: bool = False,
        version_name: str | None = None,
        version_description: str | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> UpsertResult | Diff:
        """:meth:`upsert` on the latest version, for any number of datapoints, as one version.

        ``batches()`` gives the request's datapoints as lists of bodies; it is
        called twice, and must give the same both times: first to validate
        and plan (by digests of each content, or of each key with ``key=``, so
        memory grows by a digest or two per base datapoint and per item, not
        by their JSON), then to write. Everything runs in one transaction
        under the store's write lock. ``progress``, if given, is called with
        each batch's size as the second reading stores it. ``key=``,
        ``dry_run=`` and ``allow_empty=`` are :meth:`upsert`'s.

        Raises:
            ValidationError: A bad datapoint, at ``("body", i, ...)`` with ``i``
                counted across batches, a bad action, key or flag, a key
                missing or repeated, an empty ``set`` without ``allow_empty``,
                or batches that changed between readings; nothing is written.
            NotFoundError: No live dataset has this id.
            ConflictError: The latest version is not ``expected_version``, or
                the name is taken.
        """
        return self._streamed_writes.upsert(
            dataset_id,
            batches,
            action=action,
            expected_version=expected_version,
            name=parse_version_name(version_name, version_description),
            progress=progress,
            key=key,
            dry_run=dry_run,
            allow_empty=allow_empty,
        )
