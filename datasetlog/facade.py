"""DatasetLog: the v4 Datasets operations over an event store; one call, one atomic commit."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, overload

from datasetlog.errors import ErrorDetail, ValidationError
from datasetlog.integrity.report import VerifyReport
from datasetlog.integrity.verify import verify
from datasetlog.models import (
    Change,
    Datapoint,
    Dataset,
    Diff,
    MergeResult,
    OnConflict,
    Page,
    Revision,
    Tag,
    TagMove,
    UpsertResult,
    Version,
)
from datasetlog.readmodels.access import ReadModels
from datasetlog.readmodels.replay import open_read_models, rebuild
from datasetlog.reads.compare import CompareReads
from datasetlog.reads.datapoints import DatapointReads
from datasetlog.reads.datasets import DatasetReads
from datasetlog.reads.history import HistoryReads
from datasetlog.reads.labels import LabelReads
from datasetlog.reads.resolve import VersionRef
from datasetlog.sources.base import LogSource
from datasetlog.store import Durability, SQLStore, open_store
from datasetlog.store.sqlite import require_durability
from datasetlog.writes.commits import parse_version_name
from datasetlog.writes.datapoints import CreateBody, DatapointWrites
from datasetlog.writes.datasets import DatasetWrites
from datasetlog.writes.forks import ForkWrites
from datasetlog.writes.labels import LabelWrites
from datasetlog.writes.loop import Writer
from datasetlog.writes.merges import MergeWrites
from datasetlog.writes.restore import RestoreWrites
from datasetlog.writes.streams import StreamedWrites
from datasetlog.writes.upsert import UpsertWrites


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DatasetLog:
    """Versioned datasets with the v4 Datasets API's operations, as a library.

    Every content change appends one commit: a new version ``n + 1`` with an
    automatic commit message. Any committed version can be read back exactly.

    Args:
        store: An event store, or where to open one: a file path,
            ``"sqlite:///path"``, ``":memory:"`` or ``"postgresql://…"``.
        logs: Where ``{"log_ids": [...]}`` requests find their logs.
        durability: For SQLite paths: ``"normal"`` survives process crashes,
            ``"full"`` power loss too (see the README).
        max_retries: How often a write lost to a concurrent writer is retried
            before :class:`ConflictError` is raised.
        clock: Returns the current time (aware, UTC); for tests.

    Raises:
        ValidationError: An option is of the wrong type or value (``loc`` names it).
        StoreError: The store cannot be opened (see :func:`~datasetlog.open_store`).
    """

    def __init__(
        self,
        store: SQLStore | str | Path = ":memory:",
        *,
        logs: LogSource | None = None,
        durability: Durability = "normal",
        max_retries: int = 8,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        require_durability(durability)
        if type(max_retries) is not int or not 0 <= max_retries <= 100:
            raise ValidationError(
                [ErrorDetail(("max_retries",), "expected an integer from 0 to 100", "max_retries")]
            )
        if isinstance(store, str | Path):
            self.store: SQLStore = open_store(store, durability=durability)
            opened = True
        elif isinstance(store, SQLStore):
            self.store, opened = store, False
        else:
            kind = type(store).__name__
            raise ValidationError(
                [ErrorDetail(("store",), f"expected a path, a URL or a store, got {kind}", "store")]
            )
        if logs is not None and not isinstance(logs, LogSource):
            if opened:
                self.store.close()
            kind = type(logs).__name__
            raise ValidationError(
                [ErrorDetail(("logs",), f"expected a LogSource (get_logs), got {kind}", "logs")]
            )
        self.logs = logs
        models = ReadModels(self.store.dialect)
        self._schema = models.schema
        try:
            open_read_models(self.store, models.schema)
        except BaseException:
            if opened:
                self.store.close()
            raise
        writer = Writer(
            self.store, models.lookups, models.spans.layering, max_retries=max_retries, clock=clock
        )
        self._dataset_writes = DatasetWrites(writer)
        self._datapoint_writes = DatapointWrites(writer)
        self._streamed_writes = StreamedWrites(writer, models.spans)
        self._label_writes = LabelWrites(writer)
        self._restore_writes = RestoreWrites(writer, models.history)
        self._upsert_writes = UpsertWrites(writer, models.spans, models.history)
        self._fork_writes = ForkWrites(writer)
        self._merge_writes = MergeWrites(writer, models.history)
        self._dataset_reads = DatasetReads(self.store, models)
        self._datapoint_reads = DatapointReads(self.store, models)
        self._history_reads = HistoryReads(self.store, models)
        self._label_reads = LabelReads(self.store, models)
        self._compare_reads = CompareReads(self._dataset_reads, self._datapoint_reads)

    def __repr__(self) -> str:
        return f"DatasetLog({self.store!r})"

    def __enter__(self) -> DatasetLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    # -- datasets --------------------------------------------------------------------------

    def create_dataset(
        self, *, project_id: str, name: str, description: str | None = None
    ) -> Dataset:
        """Create an empty dataset (version 0) in a project.

        Raises:
            ValidationError: A field is empty or not a string.
            ConflictError: The project already has a live dataset of that name.
        """
        dataset_id = self._dataset_writes.create(
            project_id=project_id, name=name, description=description
        )
        return self._dataset_reads.get_dataset(dataset_id)

    def list_datasets(self, project_id: str | None) -> list[Dataset]:
        """Return a project's live datasets, oldest first; every project's if ``project_id``
        is None.

        Raises:
            ValidationError: ``project_id`` is not None or a non-empty string.
        """
        return self._dataset_reads.list_datasets(project_id)

    def get_dataset(self, dataset_id: str) -> Dataset:
        """Return a live dataset and the size of its latest version.

        Raises:
            NotFoundError: No live dataset has this id.
        """
        return self._dataset_reads.get_dataset(dataset_id)

    def update_dataset(
        self, dataset_id: str, *, name: str | None = None, description: str | None = None
    ) -> Dataset:
        """Rename and/or redescribe a dataset; its content versions are unchanged.

        Raises:
            ValidationError: Neither field given, or one is empty or not a string.
            NotFoundError: No live dataset has this id.
            ConflictError: The new name is taken in the project.
        """
        self._dataset_writes.update(dataset_id, name=name, description=description)
        return self._dataset_reads.get_dataset(dataset_id)

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete a dataset: it is no longer listed or found; its history stays in the log.

        Raises:
            NotFoundError: No live dataset has this id.
        """
        self._dataset_writes.delete(dataset_id)

    # -- versions --------------------------------------------------------------------------

    def get_version(
        self, dataset_id: str, version: VersionRef = None, *, as_of: datetime | None = None
    ) -> Version:
        """Return one committed version, by any reference, or the one latest ``as_of`` an instant.

        A reference is a number, a ``dsv_…`` id, a version name, a tag, or
        ``"latest"`` (also None). ``as_of`` (an aware datetime) names the
        version that was the latest at that instant; give one or the other.
        Every read that takes ``version=`` takes the same references and ``as_of=``.

        Raises:
            ValidationError: Both given, or ``as_of`` is not an aware datetime.
            NotFoundError: No such dataset or version.
        """
        return self._dataset_reads.get_version(dataset_id, version, as_of=as_of)

    def list_versions(self, dataset_id: str) -> list[Version]:
        """Return every committed version of a dataset, oldest (version 0) first.

        Raises:
            NotFoundError: No live dataset has this id.
        """
        return self._dataset_reads.list_versions(dataset_id)

    def name_version(
        self,
        dataset_id: str,
        version: VersionRef,
        name: str,
        *,
        description: str | None = None,
    ) -> Version:
        """Give a version its name: unique in the dataset, once per version, never changed.

        Raises:
            ValidationError: The name is empty, reserved (``latest``), or reads
                as a number or version id.
            NotFoundError: No such dataset or version.
            ConflictError: The version is named, or the name is a name or tag already.
        """
        return self._label_writes.name_version(dataset_id, version, name, description)

    # -- tags ------------------------------------------------------------------------------

    def set_tag(self, dataset_id: str, tag: str, version: VersionRef) -> Tag:
        """Point a tag at a version: create it, or move it; every move is kept.

        Setting a tag to the version it points at already commits nothing.

        Raises:
            ValidationError: The tag is empty, reserved, or reads as a number or id.
            NotFoundError: No such dataset or version.
            ConflictError: The string names a version (names and tags share a namespace).
        """
        return self._label_writes.set_tag(dataset_id, tag, version)

    def delete_tag(self, dataset_id: str, tag: str) -> None:
        """Remove a tag; its history stays (see :meth:`tag_history`).

        Raises:
            NotFoundError: No such dataset, or it has no such tag.
        """
        self._label_writes.delete_tag(dataset_id, tag)

    def list_tags(self, dataset_id: str) -> list[Tag]:
        """Return a dataset's tags, by name, with the version each points at.

        Raises:
            NotFoundError: No live dataset has this id.
        """
        return self._label_reads.list_tags(dataset_id)

    def tag_history(self, dataset_id: str, tag: str) -> list[TagMove]:
        """Return every move of a tag, oldest first: from which version to which, and when.

        Raises:
            NotFoundError: No such dataset, or it never had such a tag.
        """
        return self._label_reads.tag_history(dataset_id, tag)

    # -- compare and go back ---------------------------------------------------------------

    def diff(self, dataset_id: str, base: VersionRef, target: VersionRef) -> Diff:
        """Return how to go from version ``base`` to version ``target`` (either order).

        Costs what changed between them, not what they hold.

        Raises:
            NotFoundError: No such dataset or version.
        """
        return self._history_reads.diff(dataset_id, base, target)

    def iter_diff(
        self, dataset_id: str, base: VersionRef, target: VersionRef, *, batch: int = 1000
    ) -> Generator[Change, None, None]:
        """Stream the entries of :meth:`diff` in dataset order, ``batch`` per read, any size.

        Raises:
            NotFoundError: No such dataset or version (raised at the call).
        """
        return self._history_reads.iter_diff(dataset_id, base, target, batch=batch)

    def datapoint_history(self, datapoint_id: str) -> list[Revision]:
        """Return every version in which a datapoint was added, changed, deleted or restored.

        Raises:
            NotFoundError: No datapoint of a live dataset ever had this id.
        """
        return self._history_reads.datapoint_history(datapoint_id)

    @overload
    def restore(
        self,
        dataset_id: str,
        version: VersionRef,
        *,
        dry_run: Literal[False] = False,
        version_name: str | None = None,
        version_description: str | None = None,
        idempotency_key: str | None = None,
    ) -> Version: ...

    @overload
    def restore(
        self,
        dataset_id: str,
        version: VersionRef,
        *,
        dry_run: Literal[True],
        version_name: str | None = None,
        version_description: str | None = None,
        idempotency_key: str | None = None,
    ) -> Diff: ...

    def restore(
        self,
        dataset_id: str,
        version: VersionRef,
        *,
        dry_run: bool = False,
        version_name: str | None = None,
        version_description: str | None = None,
        idempotency_key: str | None = None,
    ) -> Version | Diff:
        """Commit a new version whose content equals ``version``'s; return it.

        Restored datapoints keep their ids and places. Content equal to the
        latest version's commits nothing (not even ``version_name``) and returns
        the latest version. With ``dry_run``, return the :class:`Diff` from the
        latest version that the restore would apply, and write nothing.

        Raises:
            ValidationError: A bad version name or idempotency key.
            NotFoundError: No such dataset or version.
            ConflictError: The name is taken, or the key was used with another request.
        """
        name = parse_version_name(version_name, version_description)
        if dry_run:
            return self._history_reads.diff(dataset_id, None, version)
        return self._restore_writes.restore(
            dataset_id, version, name=name, idempotency_key=idempotency_key
        )

    # -- datapoints: writes ----------------------------------------------------------------

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
        return self.commit_datapoints(
            dataset_id,
            body,
            idempotency_key=idempotency_key,
            version_name=version_name,
            version_description=version_description,
        )[1]

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

    def commit_datapoint_stream(
        self,
        dataset_id: str,
        batches: Iterable[Sequence[Any]],
        *,
        count: int,
        version_name: str | None = None,
        version_description: str | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> Version:
        """Add any number of datapoints as one committed version, in constant memory.

        ``batches`` yields non-empty lists of datapoint bodies (plain v4 JSON
        data, as many to a list as suits the caller); they are validated,
        stored and applied batch by batch inside one transaction, so a version
        of millions of datapoints never sits in memory. ``count`` is how many
        datapoints the batches hold, stated up front for the automatic message
        ("Add N datapoints").
        ``progress``, if given, is called with each batch's size once it is
        stored. The store's write lock is held until the last batch is in.

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

    def upsert(
        self,
        dataset_id: str,
        datapoints: Any,
        *,
        action: str = "set",
        base: VersionRef = None,
        expected_version: int | None = None,
        version_name: str | None = None,
        version_description: str | None = None,
        idempotency_key: str | None = None,
    ) -> UpsertResult:
        """Commit ``base`` (default: the latest) with ``datapoints`` applied, matched by content.

        ``action="set"``: the new version holds exactly the request's distinct
        contents, those already there keeping their ids; ``"add"``: the base
        and the request's contents it lacks; ``"remove"``: the base without
        the request's contents. Content is ``inputs``, ``messages`` and
        ``target`` as canonical JSON. With an older ``base`` the result is
        committed on top of the latest version. Nothing to change commits
        nothing. ``datapoints`` takes what ``create_datapoint`` takes, but log ids.

        Raises:
            ValidationError: A bad datapoint, action, version name or key.
            NotFoundError: No such dataset or base version.
            ConflictError: The latest version is not ``expected_version``, the
                name is taken, or the key was used with another request.
        """
        return self._upsert_writes.upsert(
            dataset_id,
            datapoints,
            action=action,
            base=base,
            expected_version=expected_version,
            name=parse_version_name(version_name, version_description),
            idempotency_key=idempotency_key,
        )

    def upsert_stream(
        self,
        dataset_id: str,
        batches: Callable[[], Iterable[Sequence[Any]]],
        *,
        action: str = "set",
        expected_version: int | None = None,
        version_name: str | None = None,
        version_description: str | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> UpsertResult:
        """:meth:`upsert` on the latest version, for any number of datapoints, as one version.

        ``batches()`` gives the request's datapoints as lists of bodies; it is
        called twice, and must give the same both times: first to validate
        and plan (by 128-bit digests of each content, so memory grows by a
        digest per base datapoint and per content asked for, not by their
        JSON), then to add what the plan adds. Everything runs in one
        transaction under the store's write lock. ``progress``, if given, is
        called with each batch's size as the second reading stores it.

        Raises:
            ValidationError: A bad datapoint, at ``("body", i, ...)`` with ``i``
                counted across batches, a bad action, or batches that changed
                between readings; nothing is written.
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
        )

    # -- forks and merges ------------------------------------------------------------------

    def fork(
        self,
        dataset_id: str,
        *,
        name: str,
        version: VersionRef = None,
        description: str | None = None,
    ) -> Dataset:
        """Create a dataset whose version 0 holds ``version`` (default: the latest) of another.

        The fork is in the same project, has its own id, versions, names and
        tags, and records where it came from (``Dataset.forked_from``). A
        datapoint ``dp_A`` is ``dp_A.<fork id without evts_>`` in the fork,
        so every id names one datapoint; merges match them by that shared
        root. No datapoint JSON is copied.

        Raises:
            ValidationError: A bad name or description.
            NotFoundError: No such dataset or version.
            ConflictError: The project already has a live dataset of that name.
        """
        fork_id = self._fork_writes.fork(dataset_id, version, name=name, description=description)
        return self._dataset_reads.get_dataset(fork_id)

    def merge(
        self,
        source_id: str,
        *,
        into: str,
        dry_run: bool = False,
        on_conflict: OnConflict = "fail",
        version_name: str | None = None,
        version_description: str | None = None,
    ) -> MergeResult:
        """Apply what ``source_id`` changed since the merge base to ``into``, as one commit.

        The two must be a fork and its source (either way round). The base is
        the source version ``into`` last merged, else the fork point. A
        datapoint changed on both sides to different content, or changed on
        one and deleted on the other, is a conflict: ``"fail"`` raises,
        ``"source"`` takes the source's side, ``"target"`` keeps the target's.
        ``dry_run=True`` returns what would be applied, and every conflict,
        writing nothing. A merge that changes nothing commits nothing.

        Raises:
            ValidationError: A bad option, or datasets that are not fork and source.
            NotFoundError: No such dataset.
            MergeConflictError: Conflicts with ``on_conflict="fail"``; nothing written.
            ConflictError: The version name is taken.
        """
        return self._merge_writes.merge(
            source_id,
            into,
            dry_run=dry_run,
            on_conflict=on_conflict,
            name=parse_version_name(version_name, version_description),
        )

    def diff_datasets(
        self,
        base: str,
        target: str,
        *,
        base_version: VersionRef = None,
        target_version: VersionRef = None,
    ) -> Diff:
        """How to go from a version of ``base`` to a version of ``target`` (default: latest).

        Datapoints are matched by identity, as merges match them, so a fork
        and its source compare datapoint by datapoint. Reads both versions.

        Raises:
            NotFoundError: No such dataset or version.
        """
        return self._compare_reads.diff_datasets(
            base, target, base_version=base_version, target_version=target_version
        )

    # -- datapoints: reads -----------------------------------------------------------------

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

    # -- maintenance -----------------------------------------------------------------------

    def rebuild(self, *, progress: Callable[[int], object] | None = None) -> None:
        """Drop every read model and rebuild it from the event log, atomically.

        Each commit is replayed in batches of events, so a commit of any size
        rebuilds in constant memory. ``progress``, if given, is called with how
        many more events were applied (out of ``store.last_event()``).
        """
        rebuild(self.store, self._schema, progress)

    def verify(self, *, progress: Callable[[int], object] | None = None) -> VerifyReport:
        """Check the log, its hash chains and the read models against each other.

        Reads one snapshot; see :func:`datasetlog.integrity.verify`. The
        report is true when nothing is wrong. ``progress``, if given, is called
        with how many more events were checked (out of ``store.last_event()``).
        """
        return verify(self.store, progress)
