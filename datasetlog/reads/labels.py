"""Reads of a dataset's tags and of every move a tag made."""

from __future__ import annotations

from datetime import datetime

from datasetlog.errors import NotFoundError
from datasetlog.models import Tag, TagMove
from datasetlog.readmodels import labels
from datasetlog.readmodels.access import ReadModels
from datasetlog.store.base import SQLStore
from datasetlog.validation.fields import DATASET_ID, require_id


class LabelReads:
    """Tags and their moves, as the read models of one store hold them."""

    def __init__(self, store: SQLStore, models: ReadModels) -> None:
        self._store = store
        self._lookups = models.lookups

    def list_tags(self, dataset_id: str) -> list[Tag]:
        """A dataset's tags; see ``DatasetLog.list_tags``."""
        require_id(dataset_id, DATASET_ID)
        with self._store.reading() as conn:
            dataset = self._lookups.live(conn, dataset_id)
            rows = labels.tags(conn, dataset.key)
        return [Tag(row.label, row.version, datetime.fromisoformat(row.set_at)) for row in rows]

    def tag_history(self, dataset_id: str, tag: str) -> list[TagMove]:
        """Every move of a tag; see ``DatasetLog.tag_history``."""
        require_id(dataset_id, DATASET_ID)
        require_id(tag, ("path", "tag"))
        with self._store.reading() as conn:
            dataset = self._lookups.live(conn, dataset_id)
            moves = labels.tag_moves(conn, dataset.key, tag)
        if not moves:
            raise NotFoundError(f"dataset {dataset_id!r} never had a tag {tag!r}")
        return [
            TagMove(tag, datetime.fromisoformat(at), from_version=old, to_version=new)
            for old, new, at in moves
        ]
