"""Datapoints made from logs, and the log sources that serve them, one behaviour per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import locs

from datasetlog import (
    Dataset,
    DatasetLog,
    DictLogSource,
    LogsRequest,
    SQLiteLogSource,
    ValidationError,
    to_v4,
)


def test_log_ids_without_a_log_source_are_invalid(db: DatasetLog, ds: Dataset) -> None:
    """``{"log_ids": [...]}`` without a log source is a ValidationError; nothing is committed."""
    with pytest.raises(ValidationError) as error:
        db.create_datapoint(ds.id, {"log_ids": ["log_1"]})
    assert locs(error) == [("body", "log_ids")]
    assert len(db.list_versions(ds.id)) == 1


def test_unknown_log_ids_are_each_reported(ticking: DatasetLog) -> None:
    """Every unknown log id is reported at ["body", "log_ids", i]; nothing is committed."""
    ds = ticking.create_dataset(project_id="pr_1", name="qa")
    with pytest.raises(ValidationError) as error:
        ticking.create_datapoint(ds.id, {"log_ids": ["nope", "log_1", "gone"]})
    assert locs(error) == [("body", "log_ids", 0), ("body", "log_ids", 2)]
    assert len(ticking.list_versions(ds.id)) == 1


def test_datapoint_from_a_log_copies_it(ticking: DatasetLog) -> None:
    """A datapoint from a log has its inputs and messages, target {"output": …} and source id."""
    ds = ticking.create_dataset(project_id="pr_1", name="qa")
    [dp] = ticking.create_datapoint(ds.id, {"log_ids": ["log_1"]})
    assert dp.inputs == {"q": "2+2?"}
    assert to_v4(dp)["messages"] == [{"role": "user", "content": "2+2?"}]
    assert dp.target == {"output": "4"}
    assert dp.source_project_data_id == "log_1"


def test_datapoint_from_a_log_without_output_has_no_target(ticking: DatasetLog) -> None:
    """A log without an output makes a datapoint without a target."""
    ds = ticking.create_dataset(project_id="pr_1", name="qa")
    [dp] = ticking.create_datapoint(ds.id, {"log_ids": ["log_2"]})
    assert dp.target is None
    assert dp.messages is None


def test_datapoints_from_logs_keep_order_and_message(ticking: DatasetLog) -> None:
    """Log ids become datapoints in request order, committed as "Add 2 datapoints from logs"."""
    ds = ticking.create_dataset(project_id="pr_1", name="qa")
    created = ticking.create_datapoint(ds.id, LogsRequest(log_ids=["log_2", "log_1"]))
    assert [d.source_project_data_id for d in created] == ["log_2", "log_1"]
    assert ticking.list_versions(ds.id)[-1].message == "Add 2 datapoints from logs"


def test_sqlite_log_source_serves_recorded_logs(tmp_path: Path) -> None:
    """Logs recorded in the store's own SQLite file can be turned into datapoints."""
    path = tmp_path / "store.db"
    with DatasetLog(path) as db:
        source = SQLiteLogSource(path)
        db.logs = source
        recorded = source.record_log(
            inputs={"q": "3+3?"}, messages=[{"role": "user", "content": "3+3?"}], output="6"
        )
        ds = db.create_dataset(project_id="pr_1", name="qa")
        [dp] = db.create_datapoint(ds.id, {"log_ids": [recorded.id]})
        source.close()
    assert recorded.id.startswith("log_")
    assert (dp.inputs, dp.target, dp.source_project_data_id) == (
        {"q": "3+3?"},
        {"output": "6"},
        recorded.id,
    )
    assert to_v4(dp)["messages"] == [{"role": "user", "content": "3+3?"}]


def test_sqlite_log_source_keeps_a_given_id(tmp_path: Path) -> None:
    """``record_log(id=…)`` stores the log under that id, and reads it back."""
    source = SQLiteLogSource(tmp_path / "logs.db")
    source.record_log(id="log_x", output="")
    assert source.get_logs(["log_x", "log_y"])["log_x"].output == ""
    assert list(source.get_logs(["log_y"])) == []
    source.close()


def test_sqlite_log_source_file_can_become_the_store(tmp_path: Path) -> None:
    """A log file made first can later be opened as the store too (its documented use)."""
    path = tmp_path / "shared.db"
    source = SQLiteLogSource(path)
    recorded = source.record_log(output="6")
    with DatasetLog(path, logs=source) as db:
        ds = db.create_dataset(project_id="pr_1", name="qa")
        [dp] = db.create_datapoint(ds.id, {"log_ids": [recorded.id]})
    source.close()
    assert dp.target == {"output": "6"}


def test_malformed_log_is_a_validation_error() -> None:
    """A log dict with an unknown role is a ValidationError, not a cattrs exception."""
    with pytest.raises(ValidationError):
        DictLogSource([{"id": "log_x", "messages": [{"role": "bot"}]}])
