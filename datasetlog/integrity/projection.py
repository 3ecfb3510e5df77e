"""The projector's fold of each live dataset against what the read models serve of it.

A dataset's fields and latest version are compared whole. Its datapoints are
compared as the JSON the read models serve for its latest version, by
digest, against the JSON of the event the fold says states each one's
content: every datapoint of a dataset that is no fork, and of a fork those
it holds itself (added, or inherited and changed), read through its own
spans. A fork's inherited datapoints are its source's, whose own spans are
checked with the source and whose rows the replay checks, so a fork costs
what it stores, not a copy of its source. A problem's ``datapoint #i``
counts the datapoints compared, in ordinal order.
"""

from __future__ import annotations

from datasetlog.integrity.fold import DatasetFold, content_digest
from datasetlog.integrity.report import Problems, clip, differences
from datasetlog.readmodels.access import ReadModels
from datasetlog.readmodels.layers import own_view
from datasetlog.store.base import Connection

BATCH = 1000
"""Spans read per query."""


def compare_projection(
    problems: Problems, models: ReadModels, conn: Connection, state: DatasetFold
) -> None:
    """Compare a live dataset's fold with what the read models serve of it."""
    latest = state.version
    if latest is None:
        problems.add("projection", dataset_id=state.id, detail="the dataset has no version")
        return
    at = {"dataset_id": state.id, "version": latest.number}
    row = models.lookups.dataset(conn, state.id)
    if row is None:
        problems.add("projection", **at, detail="the read models hold no live dataset of this id")
        return
    want = state.dataset()
    fields: list[tuple[str, object, object]] = [
        ("name", want.name, row.name),
        ("description", want.description, row.description),
        ("project_id", want.project_id, row.project_id),
        ("datapoint_count", want.datapoint_count, row.datapoint_count),
        ("created_at", want.created_at.isoformat(), row.created_at),
        ("updated_at", want.updated_at.isoformat(), row.updated_at),
        ("version", latest.number, row.version),
    ]
    found = models.lookups.version(conn, row.key, latest.number)
    if found is not None:
        fields += [
            ("version id", latest.id, found.id),
            ("message", latest.message, found.message),
            ("version created_at", latest.created_at.isoformat(), found.created_at),
            ("version datapoint_count", latest.datapoint_count, found.datapoint_count),
        ]
    differ = differences(fields) or ("" if found else "the latest version is missing")
    if differ or found is None:
        problems.add("projection", **at, detail=f"projector vs read models: {differ}")
        return
    expected = state.own()
    index, start = 0, 0
    view = own_view(row, found)
    while True:
        spans = models.spans.page(conn, view, start=start, limit=BATCH)
        for span in spans:
            ordinal, digest = next(expected, (None, None))
            if content_digest(span.payload) != digest:
                shown = (state.datapoint_at(ordinal) if ordinal is not None else None) or "none"
                detail = f"datapoint #{index}: expected {shown}, found {clip(span.payload)}"
                problems.add("projection", **at, detail=detail)
                return
            index += 1
        if len(spans) < BATCH:
            break
        start = spans[-1].ordinal + 1
    missing = sum(1 for _ in expected)
    if missing:
        detail = f"{index} datapoint(s) served, {index + missing} projected"
        problems.add("projection", **at, detail=detail)
