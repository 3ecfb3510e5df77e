"""The transfer functions refuse what is not a path or a binary file, never with a traceback."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from datasetlog import DatasetLog, ValidationError
from datasetlog.transfer import check_lock, export_dataset, import_datapoints


@pytest.fixture
def filled(tmp_path: Path) -> tuple[DatasetLog, str]:
    db = DatasetLog(tmp_path / "store.db")
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.create_datapoint(ds, {"inputs": {"q": "x"}})
    return db, ds


@pytest.mark.parametrize("dest", [io.StringIO(), None, 42, ["a"]])
def test_an_export_to_what_is_no_binary_file_is_refused(
    filled: tuple[DatasetLog, str], tmp_path: Path, dest: Any
) -> None:
    """A text file, None or any other object as the destination: a ValidationError at dest."""
    db, ds = filled
    with pytest.raises(ValidationError) as refused:
        export_dataset(db, ds, dest, format="jsonl")
    assert [d.loc for d in refused.value.details] == [("dest",)]


def test_a_text_mode_file_says_to_open_it_in_binary(
    filled: tuple[DatasetLog, str], tmp_path: Path
) -> None:
    """The most likely slip, open(path) or open(path, "w"), is named with its remedy."""
    db, ds = filled
    (tmp_path / "in.jsonl").write_text('{"inputs": {"q": "y"}}\n')
    with (tmp_path / "out.jsonl").open("w") as out, pytest.raises(ValidationError, match="'wb'"):
        export_dataset(db, ds, out)  # type: ignore[arg-type]
    with (tmp_path / "in.jsonl").open() as text, pytest.raises(ValidationError, match="'rb'"):
        import_datapoints(db, ds, text, format="jsonl")
    assert db.get_dataset(ds).datapoint_count == 1


@pytest.mark.parametrize("source", [io.StringIO('{"inputs": {}}\n'), None, [{"inputs": {}}], b"{}"])
def test_an_import_of_what_is_no_binary_file_or_table_is_refused(
    filled: tuple[DatasetLog, str], source: Any
) -> None:
    """A text file, a list of dicts, bytes or None as the source: a ValidationError at source."""
    db, ds = filled
    with pytest.raises(ValidationError) as refused:
        import_datapoints(db, ds, source, format="jsonl")
    assert [d.loc for d in refused.value.details] == [("source",)]
    assert db.get_dataset(ds).datapoint_count == 1


@pytest.mark.parametrize("manifest", [{"kind": "datasetlog-lock/1"}, None, 3])
def test_check_lock_of_what_is_no_path_is_refused(manifest: Any) -> None:
    """check_lock wants the path of a lock file."""
    with pytest.raises(ValidationError):
        check_lock(manifest)
