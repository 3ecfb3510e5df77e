"""Version names and tags: naming a version once, setting, moving and deleting tags."""

from __future__ import annotations

from datetime import datetime

import attrs

from datasetlog.errors import ConflictError, NotFoundError, ValidationError
from datasetlog.events import Commit, TagDeleted, TagSet, VersionNamed
from datasetlog.models import Tag, Version
from datasetlog.readmodels import labels
from datasetlog.reads.resolve import VersionRef, resolve_version
from datasetlog.validation.fields import (
    DATASET_ID,
    description_problems,
    label_problems,
    require_id,
)
from datasetlog.writes.commits import require_label_free
from datasetlog.writes.loop import WriteContext, Writer


class LabelWrites:
    """The name and tag operations of DatasetLog; none of them makes a content version."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    def name_version(
        self, dataset_id: str, version: VersionRef, name: str, description: str | None
    ) -> Version:
        """Name a version once; see ``DatasetLog.name_version``."""
        problems = [
            *label_problems(name, ("body", "name")),
            *description_problems(description, ("body", "description")),
        ]
        if problems:
            raise ValidationError(problems)
        require_id(dataset_id, DATASET_ID)

        def write(tx: WriteContext) -> Version:
            row = tx.live(dataset_id)
            found = resolve_version(tx.lookups, tx.conn, row, version)
            if found.name is not None:
                raise ConflictError(
                    f"version {found.number} of {row.id!r} is already named {found.name!r}"
                )
            require_label_free(tx, row, name)
            event = VersionNamed(found.number, name, description)
            tx.commit(Commit(row.id, row.sequence + 1, tx.now, (event,)))
            return attrs.evolve(found.to_version(row.id), name=name, description=description)

        return self._writer.run(write)

    def set_tag(self, dataset_id: str, tag: str, version: VersionRef) -> Tag:
        """Create or move a tag; see ``DatasetLog.set_tag``."""
        problems = label_problems(tag, ("body", "tag"))
        if problems:
            raise ValidationError(problems)
        require_id(dataset_id, DATASET_ID)

        def write(tx: WriteContext) -> Tag:
            row = tx.live(dataset_id)
            number = resolve_version(tx.lookups, tx.conn, row, version).number
            found = labels.label(tx.conn, row.key, tag)
            if found is not None and found.kind != labels.TAG:
                require_label_free(tx, row, tag)
            if found is not None and found.version == number:  # already there: not a move
                return _tag(found.label, found.version, found.set_at)
            tx.commit(Commit(row.id, row.sequence + 1, tx.now, (TagSet(tag, number),)))
            return Tag(tag, number, tx.now)

        return self._writer.run(write)

    def delete_tag(self, dataset_id: str, tag: str) -> None:
        """Delete a tag; see ``DatasetLog.delete_tag``."""
        require_id(tag, ("path", "tag"))
        require_id(dataset_id, DATASET_ID)

        def write(tx: WriteContext) -> None:
            row = tx.live(dataset_id)
            found = labels.label(tx.conn, row.key, tag)
            if found is None or found.kind != labels.TAG:
                raise NotFoundError(f"dataset {row.id!r} has no tag {tag!r}")
            tx.commit(Commit(row.id, row.sequence + 1, tx.now, (TagDeleted(tag),)))

        self._writer.run(write)


def _tag(name: str, version: int, set_at: str) -> Tag:
    return Tag(name, version, datetime.fromisoformat(set_at))
