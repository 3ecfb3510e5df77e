"""Where a DatasetLog opens its store: an empty or blank location is refused, opening nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasetlog import DatasetLog, ValidationError


@pytest.mark.parametrize("location", ["", "   ", "sqlite:///", "sqlite:///  "])
def test_an_empty_store_location_is_refused(
    location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``DatasetLog("")`` (or a blank path) is a ValidationError at ``store``, and opens
    nothing: not a private temporary database, not a file named by spaces."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError) as raised:
        DatasetLog(location)
    assert [d.loc for d in raised.value.details] == [("store",)]
    assert list(tmp_path.iterdir()) == []
