"""A request with a million problems makes a short error: the first hundred, then one detail
saying how many more, on every write path, in the 422 shape."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import datasetlog.transfer
from datasetlog import DatasetLog, ErrorDetail, ValidationError, to_v4
from datasetlog.transfer import import_datapoints


@pytest.fixture
def db() -> Iterator[DatasetLog]:
    with DatasetLog(":memory:") as log:
        yield log


def _summary(error: ValidationError) -> ErrorDetail:
    """The last detail of a capped error, after checking the hundred before it."""
    assert len(error.details) == 101
    assert all(d.type != "too_many_errors" for d in error.details[:100])
    assert error.details[-1].type == "too_many_errors"
    return error.details[-1]


def test_an_error_of_a_million_problems_keeps_a_hundred_and_counts_the_rest() -> None:
    """Details, message and 422 body stay small; the count of the others is exact."""
    problems = (ErrorDetail(("body", i, "inputs"), "bad", "string_type") for i in range(10**6))
    error = ValidationError(problems)
    last = _summary(error)
    assert (last.loc, error.omitted) == (("body",), 999_900)
    assert "999,900 more" in last.msg
    assert str(error).startswith("1000000 validation error(s): body.0.inputs: bad")
    assert len(str(error)) < 1_000
    body = to_v4(error)
    assert len(body["detail"]) == 101
    assert body["detail"][-1] == {"loc": ["body"], "msg": last.msg, "type": "too_many_errors"}
    assert error.listed == error.details[:100]


def test_an_error_of_a_hundred_problems_lists_them_all() -> None:
    """The cap takes nothing from an error that fits."""
    problems = [ErrorDetail(("body", i), "bad", "string_type") for i in range(100)]
    error = ValidationError(problems)
    assert (error.details, error.omitted, error.listed) == (tuple(problems), 0, tuple(problems))


def test_create_datapoint_with_100k_bad_items_gives_a_short_error(db: DatasetLog) -> None:
    """The request parser collects every problem; the error keeps the first hundred."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    with pytest.raises(ValidationError) as refused:
        db.create_datapoint(ds, [{"inputs": {"q": 1}}] * 100_000)
    assert refused.value.details[0].loc == ("body", 0, "inputs", "q")
    assert "99,900 more" in _summary(refused.value).msg
    assert db.get_version(ds).number == 0


def test_an_import_of_many_bad_lines_gives_a_short_error(db: DatasetLog) -> None:
    """200,000 lines that are no JSON: reading stops with the first batch (5,000 lines), and
    the error lists 100 and counts the rest of them."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    with pytest.raises(ValidationError) as refused:
        import_datapoints(db, ds, io.BytesIO(b"nope\n" * 200_000))
    last = _summary(refused.value)
    assert (last.loc, refused.value.omitted) == (("line",), 4_900)
    assert refused.value.details[99].loc == ("line", 100)
    assert db.get_version(ds).number == 0


def test_a_line_of_100k_unknown_keys_gives_a_short_error(db: DatasetLog) -> None:
    """One line can hold many problems: they are counted as they are found, not kept."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    line = b"{" + b",".join(b'"k%d": 1' % n for n in range(100_000)) + b"}\n"
    with pytest.raises(ValidationError) as refused:
        import_datapoints(db, ds, io.BytesIO(line))
    assert refused.value.omitted == 99_900
    assert _summary(refused.value).loc == ("line",)


def test_a_capped_error_of_the_write_path_keeps_its_count_placed_at_lines(db: DatasetLog) -> None:
    """An upsert's problems, found by the write path and placed at file lines, keep the count."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    with pytest.raises(ValidationError) as refused:
        import_datapoints(db, ds, io.BytesIO(b'{"inputs": {"q": 1}}\n' * 300), action="set")
    assert refused.value.details[0].loc == ("line", 1, "inputs", "q")
    assert refused.value.details[99].loc == ("line", 100, "inputs", "q")
    assert (_summary(refused.value).loc, refused.value.omitted) == (("line",), 200)


def test_the_cli_prints_a_short_error_for_many_bad_lines(tmp_path: Path) -> None:
    """The first 3 problems, and a line counting the rest: not one per bad line."""
    store = tmp_path / "store.db"
    with DatasetLog(store) as log:
        log.create_dataset(project_id="pr", name="qa")
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"nope\n" * 200_000)
    package = Path(datasetlog.transfer.__file__).parents[2]  # this datasetlog, not another
    done = subprocess.run(
        [sys.executable, "-m", "datasetlog", "--db", str(store), "import", "qa", str(bad)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(package)},
        timeout=300,
    )
    lines = done.stderr.splitlines()
    assert (done.returncode, len(lines)) == (1, 4)
    assert lines[-1] == "error: and 4,997 more problem(s)"
