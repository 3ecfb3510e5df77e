"""Restore: a new version whose content is an earlier version's, written forward."""

from __future__ import annotations

import hashlib
from contextlib import nullcontext

import orjson

from datasetlog import messages
from datasetlog.errors import StoreError, ValidationError
from datasetlog.events import DatapointsDeleted, Event, IdempotencyStamp
from datasetlog.models import Version
from datasetlog.readmodels.history import DiffPlan, History
from datasetlog.reads.resolve import VersionRef, resolve_version
from datasetlog.serialization.converter import converter
from datasetlog.validation.fields import DATASET_ID, require_id, text_problems
from datasetlog.writes.commits import VersionName, content_commit, earlier_use, restored
from datasetlog.writes.loop import WriteContext, Writer, collector_paused


class RestoreWrites:
    """``DatasetLog.restore``: the diff from the latest version to an earlier one, committed."""

    def __init__(self, writer: Writer, history: History) -> None:
        self._writer = writer
        self._history = history

    def restore(
        self,
        dataset_id: str,
        version: VersionRef,
        *,
        name: VersionName | None,
        idempotency_key: str | None,
    ) -> Version:
        """Commit a version equal to ``version``; see ``DatasetLog.restore``."""
        require_id(dataset_id, DATASET_ID)
        stamp = None
        if idempotency_key is not None:
            problems = text_problems(idempotency_key, ("idempotency_key",))
            if problems:
                raise ValidationError(problems)
            asked = [type(version).__name__, str(version)]  # any value hashes; resolve judges it
            request = {"restore": asked, "version_name": converter.unstructure(name)}
            digest = hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS))
            stamp = IdempotencyStamp(idempotency_key, digest.hexdigest())

        def write(tx: WriteContext) -> Version:
            row = tx.live(dataset_id)
            first = earlier_use(tx, row, stamp) if stamp is not None else None
            if first is not None:
                return first.to_version(row.id)
            head = tx.lookups.version(tx.conn, row.key, row.version)
            if head is None:
                raise StoreError(f"the read models lack the latest version of {row.id!r}")
            target = resolve_version(tx.lookups, tx.conn, row, version)
            plan = DiffPlan(row, head, target)
            events: list[Event] = []
            removed: list[str] = []
            for change in self._history.changes(lambda: nullcontext(tx.conn), plan):
                if change.after is None:
                    removed.append(change.datapoint_id)
                else:
                    events.append(restored(change.after))
            if removed:
                events.append(DatapointsDeleted(removed))
            if not events:  # the latest version already holds that content
                return head.to_version(row.id)
            message = messages.restore_version(target.number, target.name)
            commit = content_commit(tx, row, events, message, name=name, idempotency=stamp)
            return tx.commit(commit).made_version()

        with collector_paused():
            return self._writer.run(write)
