"""Two datasets side by side: what makes a version of one into a version of the other.

Datapoints are matched by identity (the root of their ids, which forks and
merges keep), not by content, as merges match them.
"""

from __future__ import annotations

from datasetlog.content import content_of, field_changes
from datasetlog.ids import root_id
from datasetlog.models import Change, Datapoint, Diff, DiffCounts
from datasetlog.reads.datapoints import DatapointReads
from datasetlog.reads.datasets import DatasetReads
from datasetlog.reads.resolve import VersionRef
from datasetlog.serialization.converter import converter

_BATCH = 2000


class CompareReads:
    """``DatasetLog.diff_datasets``."""

    def __init__(self, datasets: DatasetReads, datapoints: DatapointReads) -> None:
        self._datasets = datasets
        self._datapoints = datapoints

    def diff_datasets(
        self, base: str, target: str, *, base_version: VersionRef, target_version: VersionRef
    ) -> Diff:
        """How to go from a version of ``base`` to one of ``target``; see ``DatasetLog``."""
        old_version = self._datasets.get_version(base, base_version)
        new_version = self._datasets.get_version(target, target_version)
        old = self._by_root(base, old_version.number)
        added: list[Datapoint] = []
        changed: list[Change] = []
        for datapoint in self._datapoints.iter_datapoints(
            target, version=new_version.number, as_of=None, batch=_BATCH
        ):
            before = old.pop(root_id(datapoint.id), None)
            if before is None:
                added.append(datapoint)
                continue
            fields = field_changes(_content(before), _content(datapoint))
            if fields:
                changed.append(Change("changed", before, datapoint, fields))
        removed = list(old.values())
        counts = DiffCounts(len(added), len(removed), len(changed))
        return Diff(old_version, new_version, added, removed, changed, counts)

    def _by_root(self, dataset_id: str, number: int) -> dict[str, Datapoint]:
        datapoints = self._datapoints.iter_datapoints(
            dataset_id, version=number, as_of=None, batch=_BATCH
        )
        return {root_id(datapoint.id): datapoint for datapoint in datapoints}


def _content(datapoint: Datapoint) -> dict[str, object]:
    return content_of(converter.unstructure(datapoint))
