"""Versions: found by number, id or "latest", numbered without gaps, rendered as v4."""

from __future__ import annotations

import pytest
from helpers import locs

from datasetlog import (
    Dataset,
    DatasetLog,
    NotFoundError,
    ValidationError,
    to_v4,
)


def test_get_version_by_number_and_by_id_agree(db: DatasetLog, ds: Dataset) -> None:
    """A version is found by its number and by its ``dsv_`` id alike."""
    db.create_datapoint(ds.id, {})
    version = db.get_version(ds.id, 1)
    assert db.get_version(ds.id, version.id) == version


def test_get_version_of_another_dataset_raises_not_found(db: DatasetLog, ds: Dataset) -> None:
    """A version id of another dataset is not found in this one."""
    other = db.create_dataset(project_id="pr_1", name="other")
    with pytest.raises(NotFoundError):
        db.get_version(ds.id, db.get_version(other.id, 0).id)


def test_get_version_that_is_not_a_number_or_id_is_invalid(db: DatasetLog, ds: Dataset) -> None:
    """A version given as a bool is a ValidationError at ["query", "version"]."""
    with pytest.raises(ValidationError) as error:
        db.get_version(ds.id, True)
    assert locs(error) == [("query", "version")]


def test_list_versions_are_gapless(db: DatasetLog, ds: Dataset) -> None:
    """Versions are numbered 0..n, each the parent of the next."""
    [dp] = db.create_datapoint(ds.id, {})
    db.update_dataset(ds.id, name="renamed")
    db.update_datapoint(dp.id, inputs={})
    db.delete_datapoints([dp.id])
    versions = db.list_versions(ds.id)
    assert [(v.number, v.parent) for v in versions] == [(0, None), (1, 0), (2, 1), (3, 2)]
    assert [v.datapoint_count for v in versions] == [0, 1, 1, 0]


def test_version_zero_has_no_parent_key(db: DatasetLog, ds: Dataset) -> None:
    """Unset optional fields are omitted: version 0 renders without ``parent``."""
    db.create_datapoint(ds.id, {})
    zero, one = (to_v4(v) for v in db.list_versions(ds.id))
    assert "parent" not in zero
    assert one["parent"] == 0


def test_latest_names_the_latest_version(db: DatasetLog, ds: Dataset) -> None:
    """get_version(ds, "latest") is the last committed version."""
    assert db.get_version(ds.id, "latest").number == 0
    db.create_datapoint(ds.id, {})
    assert db.get_version(ds.id, "latest") == db.list_versions(ds.id)[-1]
    assert db.list_datapoints(ds.id, version="latest") == db.list_datapoints(ds.id)
