"""The projector, the reference read path, against what the read models serve."""

from __future__ import annotations

from datasetlog.integrity.report import Problems, clip, differences
from datasetlog.projector import DatasetState
from datasetlog.readmodels.access import ReadModels
from datasetlog.readmodels.layers import view_of
from datasetlog.serialization.decode import datapoint_from_json, datapoint_from_record
from datasetlog.store.base import Connection

BATCH = 1000
"""Spans read per query."""


def compare_projection(
    problems: Problems, models: ReadModels, conn: Connection, state: DatasetState
) -> None:
    """Compare a live dataset's projection with what the read models serve of it."""
    latest = state.version
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
    records = list(state.records.values())
    index, start = 0, 0
    view = view_of(conn, row, found)
    while True:
        spans = models.spans.page(conn, view, start=start, limit=BATCH)
        for span in spans:
            expected = records[index] if index < len(records) else None
            try:
                same = expected is not None and datapoint_from_json(
                    state.id, span.payload
                ) == datapoint_from_record(state.id, expected)
            except Exception:  # a payload the read models point at may not decode
                same = False
            if not same:
                shown = expected.id if expected is not None else "none"
                detail = f"datapoint #{index}: expected {shown}, found {clip(span.payload)}"
                problems.add("projection", **at, detail=detail)
                return
            index += 1
        if len(spans) < BATCH:
            break
        start = spans[-1].ordinal + 1
    if index < len(records):
        detail = f"{index} datapoint(s) served, {len(records)} projected"
        problems.add("projection", **at, detail=detail)
