"""Versions: read, name, tag, compare, trace and restore them."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from typing import Literal, overload

from datasetlog.models import (
    Change,
    Diff,
    Revision,
    Tag,
    TagMove,
    Version,
)
from datasetlog.reads.datasets import DatasetReads
from datasetlog.reads.history import HistoryReads
from datasetlog.reads.labels import LabelReads
from datasetlog.reads.resolve import VersionRef
from datasetlog.writes.commits import parse_version_name
from datasetlog.writes.labels import LabelWrites
from datasetlog.writes.restore import RestoreWrites


class VersionOperations:
    """The version operations of :class:`~datasetlog.DatasetLog`."""

    _dataset_reads: DatasetReads
    _history_reads: HistoryReads
    _label_reads: LabelReads
    _label_writes: LabelWrites
    _restore_writes: RestoreWrites

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

    def chain_head(
        self, dataset_id: str, version: VersionRef = None, *, as_of: datetime | None = None
    ) -> str:
        """Return the hash of the commit that made a version (any reference; default the latest).

        Each commit's SHA-256 covers its content and the hash of the commit
        before it in the dataset, so this one hash pins the version and all of
        its history: lock files record it. It is read from the log itself.

        Raises:
            ValidationError: Both ``version`` and ``as_of`` given, or a bad ``as_of``.
            NotFoundError: No such dataset or version.
            StoreError: The log lacks the commit (the store is damaged).
        """
        return self._dataset_reads.chain_head(dataset_id, version, as_of=as_of)

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
