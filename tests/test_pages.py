"""Pages of datapoints: list_datapoints by example (defaults, bounds, versions), and every page
of every version, found without OFFSET, against a plain slice of the projector's rows."""

from __future__ import annotations

import pytest
from helpers import locs
from hypothesis import given, settings
from hypothesis import strategies as st

from datasetlog import Dataset, DatasetLog, NotFoundError, ValidationError
from datasetlog.projector import project
from datasetlog.readmodels import paging
from datasetlog.serialization.codec import decode_commit

# Each step: add n datapoints, or delete the live datapoints at these positions.
Step = tuple[str, int | list[int]]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(1, 12)),
        st.tuples(st.just("delete"), st.lists(st.integers(0, 40), min_size=1, max_size=6)),
    ),
    min_size=1,
    max_size=12,
)


@pytest.mark.parametrize(("block", "few"), [(4, 0), (3, 2), (4096, 1024)])
@settings(deadline=None, max_examples=40)
@given(history=steps, size=st.integers(1, 5))
def test_every_page_of_every_version_is_a_slice_of_the_projection(
    block: int, few: int, history: list[Step], size: int
) -> None:
    """Pages of every version equal the projector's rows cut into pages, whatever the deletions."""
    with pytest.MonkeyPatch.context() as patch, DatasetLog(":memory:") as db:
        patch.setattr(paging, "BLOCK", block)
        patch.setattr(paging, "FEW_DELETIONS", few)
        dataset = db.create_dataset(project_id="pr", name="pages")
        for kind, arg in history:
            live = [d.id for d in db.iter_datapoints(dataset.id)]
            if kind == "add":
                assert isinstance(arg, int)
                db.create_datapoint(dataset.id, [{"inputs": {"n": str(i)}} for i in range(arg)])
            elif live:
                assert isinstance(arg, list)
                doomed = sorted({live[i % len(live)] for i in arg})
                db.delete_datapoints(doomed)
        commits = [decode_commit(c) for c in db.store.read_stream(dataset.id)]
        for version in db.list_versions(dataset.id):
            expected = [d.id for d in project(commits, version=version.number).datapoints()]
            pages = -(-len(expected) // size) + 1  # one past the end, which must be empty
            for page in range(1, pages + 1):
                found = db.list_datapoints(dataset.id, page=page, size=size, version=version.number)
                assert found.total == len(expected)
                offset = (page - 1) * size
                assert [d.id for d in found.records] == expected[offset : offset + size]


def test_list_datapoints_defaults_to_page_one_of_fifty(db: DatasetLog, ds: Dataset) -> None:
    """Without arguments a page is page 1 of size 50 of the latest version."""
    db.create_datapoint(ds.id, [{}] * 60)
    page = db.list_datapoints(ds.id)
    assert (page.page, page.size, page.total, len(page.records)) == (1, 50, 60, 50)


def test_list_datapoints_pages_follow_each_other(db: DatasetLog, ds: Dataset) -> None:
    """Consecutive pages hold consecutive datapoints, skipping deleted ones."""
    created = db.create_datapoint(ds.id, [{"inputs": {"n": str(n)}} for n in range(7)])
    db.delete_datapoints([created[1].id, created[4].id])
    pages = [db.list_datapoints(ds.id, page=p, size=2) for p in (1, 2, 3)]
    assert [[d.id for d in page.records] for page in pages] == [
        [created[0].id, created[2].id],
        [created[3].id, created[5].id],
        [created[6].id],
    ]
    assert {page.total for page in pages} == {5}


def test_list_datapoints_past_the_end_is_empty(db: DatasetLog, ds: Dataset) -> None:
    """A page past the end has no records and the right total."""
    db.create_datapoint(ds.id, [{}, {}, {}])
    page = db.list_datapoints(ds.id, page=5, size=2)
    assert (page.records, page.page, page.size, page.total) == ([], 5, 2, 3)


@pytest.mark.parametrize(
    ("page", "size", "loc"),
    [(1, 1001, ("query", "size")), (1, 0, ("query", "size")), (0, 10, ("query", "page"))],
)
def test_list_datapoints_out_of_range_is_invalid(
    db: DatasetLog, ds: Dataset, page: int, size: int, loc: tuple[str, ...]
) -> None:
    """``page`` below 1 and ``size`` outside 1..1000 are ValidationErrors."""
    with pytest.raises(ValidationError) as error:
        db.list_datapoints(ds.id, page=page, size=size)
    assert locs(error) == [loc]


def test_a_page_number_past_2_to_the_53_is_invalid(db: DatasetLog, ds: Dataset) -> None:
    """Page numbers stop at 2**53, the largest every JSON reader keeps exactly."""
    assert db.list_datapoints(ds.id, page=2**53).records == []
    for page in (2**53 + 1, 2**64):
        with pytest.raises(ValidationError) as error:
            db.list_datapoints(ds.id, page=page)
        assert locs(error) == [("query", "page")]


def test_list_datapoints_of_an_old_version(db: DatasetLog, ds: Dataset) -> None:
    """``version=`` pages through an earlier version, by number or by id."""
    db.create_datapoint(ds.id, [{}, {}])
    db.create_datapoint(ds.id, {})
    version = db.get_version(ds.id, 1)
    assert db.list_datapoints(ds.id, version=1).total == 2
    assert db.list_datapoints(ds.id, version=version.id) == db.list_datapoints(ds.id, version=1)


def test_list_datapoints_of_unknown_version_raises_not_found(db: DatasetLog, ds: Dataset) -> None:
    """A version that was never committed is a NotFoundError."""
    with pytest.raises(NotFoundError):
        db.list_datapoints(ds.id, version=1)


def test_a_page_iterates_over_its_records(db: DatasetLog, ds: Dataset) -> None:
    """A Page is iterable and sized: its records."""
    added = db.create_datapoint(ds.id, [{}, {}, {}])
    page = db.list_datapoints(ds.id, size=2)
    assert (len(page), list(page)) == (2, added[:2])
