"""The stored read models against fresh ones replayed from the log, row by row."""

from __future__ import annotations

from collections.abc import Iterator

from datasetlog.integrity.report import Problems, clip, differences
from datasetlog.integrity.scan import Peekable
from datasetlog.readmodels.schema import META, TABLES, ReadModelTable, Schema
from datasetlog.store.base import Connection

Row = tuple[object, ...]


def compare_read_models(
    problems: Problems, schema: Schema, stored: Connection, replayed: Connection, last: int
) -> None:
    """Report the first difference of each stored read-model table from its replay.

    Args:
        problems: Where to report.
        schema: The read models' tables.
        stored: The store's snapshot connection.
        replayed: The connection of the read models replayed from the log.
        last: The position of the log's last commit.
    """
    applied = schema.position(stored)
    if applied != last:
        detail = f"the read models applied commits up to {applied}, the log ends at {last}"
        problems.add("read_model_position", commit_position=applied, detail=detail)
    # Keys are compared as the dataset ids they stand for: a PostgreSQL identity may skip.
    select = "SELECT key, id FROM dl_datasets"
    want_ids: dict[object, str] = dict(replayed.execute(select).fetchall())
    have_ids: dict[object, str] = dict(stored.execute(select).fetchall())
    for table in TABLES:
        if table is META:
            continue  # its position row is checked above, its format row by Schema.current()
        want, have = schema.dump(replayed, table), schema.dump(stored, table)
        if table.table.column_names[:1] in (("key",), ("dataset_key",)):
            want = ((want_ids.get(r[0], r[0]), *r[1:]) for r in want)
            have = ((have_ids.get(r[0], r[0]), *r[1:]) for r in have)
        found = _first_difference(want, have)
        if found is not None:
            _report(problems, table, *found)


def _first_difference(
    want: Iterator[Row], have: Iterator[Row]
) -> tuple[Row | None, Row | None] | None:
    """The first (expected, found) rows that differ, None standing for a missing row."""
    wants, haves = Peekable(want), Peekable(have)
    while (want_row := wants.peek()) is not None or haves.peek() is not None:
        have_row = haves.peek()
        if want_row == have_row:
            wants.pop(), haves.pop()
            continue
        if want_row is not None and have_row is not None:
            # One row more or less shifts the rest: name that row, not the next pair.
            wants.pop(), haves.pop()
            if want_row == haves.peek():
                want_row = None
            elif wants.peek() == have_row:
                have_row = None
        return want_row, have_row
    return None


def _report(problems: Problems, table: ReadModelTable, want: Row | None, have: Row | None) -> None:
    """Report one read-model row that differs from its replay."""
    row = want if want is not None else have
    assert row is not None
    columns = table.table.column_names
    values = dict(zip(columns, row, strict=False))
    subject = f"{table.name} row {table.subject.format(**values)}".rstrip()
    if want is None:
        detail = f"{subject} should not exist: found {clip(have)}"
    elif have is None:
        detail = f"{subject} is missing: expected {clip(want)}"
    else:
        detail = f"{subject}: {differences(list(zip(columns, want, have, strict=False)))}"
    version = values.get(table.version_column or "")
    problems.add(
        "read_model",
        dataset_id=row[0] if type(row[0]) is str else None,
        version=version if type(version) is int else None,
        detail=detail,
    )
