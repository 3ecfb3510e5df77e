"""Change proposals: fork a version, merge a fork and its source, compare two datasets."""

from __future__ import annotations

from datasetlog.models import (
    Dataset,
    Diff,
    MergeResult,
    OnConflict,
)
from datasetlog.reads.compare import CompareReads
from datasetlog.reads.resolve import VersionRef
from datasetlog.writes.commits import parse_version_name
from datasetlog.writes.forks import ForkWrites
from datasetlog.writes.merges import MergeWrites


class ProposalOperations:
    """The change-proposal operations of :class:`~datasetlog.DatasetLog`."""

    _compare_reads: CompareReads
    _fork_writes: ForkWrites
    _merge_writes: MergeWrites

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
        return self._fork_writes.fork(dataset_id, version, name=name, description=description)

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
