"""Adds of any size as one version: datapoints streamed into one commit, in constant memory."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from datasetlog import messages as commit_messages
from datasetlog.errors import ErrorDetail, ValidationError
from datasetlog.events import DatapointAdded
from datasetlog.ids import DATAPOINT_PREFIX, new_ids
from datasetlog.models import Version
from datasetlog.readmodels.apply import CommitApplication
from datasetlog.requests import DatapointRequest
from datasetlog.serialization.codec import encode_commit, encode_event
from datasetlog.store.base import SQLTransaction
from datasetlog.validation.fields import require_id
from datasetlog.validation.requests import parse_create_request
from datasetlog.writes.commits import VersionName, content_commit
from datasetlog.writes.loop import WriteContext, Writer, collector_paused

_DATASET_ID = ("path", "dataset_id")


class StreamedWrites:
    """The streamed add of DatasetLog (``commit_datapoint_stream``)."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    def commit(
        self,
        dataset_id: str,
        batches: Iterable[Sequence[Any]],
        *,
        count: int,
        name: VersionName | None,
        progress: Callable[[int], object] | None,
    ) -> Version:
        """Add every datapoint of ``batches`` as one version; see ``commit_datapoint_stream``."""
        require_id(dataset_id, _DATASET_ID)
        if type(count) is not int or count < 1:
            raise ValidationError(
                [ErrorDetail(("count",), f"expected a count >= 1, got {count!r}", "count")]
            )

        def write(tx: SQLTransaction, context: WriteContext) -> Version:
            row = context.live(dataset_id)
            message = commit_messages.add_datapoints(count)
            commit, version = content_commit(
                context, row, [], message, name=name, datapoint_count=row.datapoint_count + count
            )
            named = commit.events  # the version's name, if any: last, as in any other commit
            header = encode_commit(attrs.evolve(commit, events=()))
            opened = tx.open_commit(header)
            applying = CommitApplication(tx.connection, commit)
            seen = 0
            for batch in batches:
                requests = _parse_batch(batch, seen)
                seen += len(requests)
                if seen > count:
                    raise _miscounted(count, f"more than {count}")
                events = [
                    _added(datapoint_id, request, context)
                    for datapoint_id, request in zip(
                        new_ids(DATAPOINT_PREFIX, len(requests)), requests, strict=True
                    )
                ]
                first = opened.append([encode_event(event) for event in events])
                applying.feed(events, first)
                if progress is not None:
                    progress(len(events))
            if seen != count:
                raise _miscounted(count, str(seen))
            if named:
                applying.feed(named, opened.append([encode_event(e) for e in named]))
            stored = opened.close()
            applying.finish(stored.position)
            return version

        with collector_paused():
            return self._writer.run_once(write)


def _parse_batch(batch: Sequence[Any], offset: int) -> list[DatapointRequest]:
    """One batch's datapoint requests; problems are placed at ``("body", offset + i, ...)``."""
    if isinstance(batch, str | bytes) or not isinstance(batch, Sequence) or not batch:
        problem = ErrorDetail(("body",), "expected batches that are non-empty lists", "batch")
        raise ValidationError([problem])
    try:
        parsed = parse_create_request(list(batch))
    except ValidationError as error:
        raise ValidationError(
            [
                ErrorDetail(("body", offset + loc[1], *loc[2:]), detail.msg, detail.type)
                if len(loc := detail.loc) >= 2 and isinstance(loc[1], int)
                else detail
                for detail in error.details
            ]
        ) from error
    if not isinstance(parsed, list):
        problem = ErrorDetail(("body", offset), "expected a datapoint, not log ids", "body_type")
        raise ValidationError([problem])
    return parsed


def _added(datapoint_id: str, request: DatapointRequest, context: WriteContext) -> DatapointAdded:
    return DatapointAdded(
        id=datapoint_id,
        created_at=context.now,
        updated_at=context.now,
        inputs=request.inputs,
        messages=request.messages,
        target=request.target,
        source_project_data_id=None,
    )


def _miscounted(count: int, seen: str) -> ValidationError:
    return ValidationError(
        [ErrorDetail(("count",), f"count says {count} datapoints; the stream held {seen}", "count")]
    )
