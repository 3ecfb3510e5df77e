"""Pages of any version, found without OFFSET, against a plain slice of the projector's rows."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasetlog import DatasetLog
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
