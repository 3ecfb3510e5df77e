"""Names, tags, project ids and keys print as they are stored: no control, bidi or invisible
character, nothing a look-alike could hide behind; descriptions are prose. Names an older
release stored stay readable and addressable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given

from datasetlog import DatasetLog, ValidationError
from datasetlog.testing.strategies import invalid_names
from datasetlog.validation import fields

Loc = tuple[str | int, ...]

# (character placed at index 2 of "qa?-1", the error type it must raise)
REFUSED = [
    pytest.param("\x1b", "control_character", id="ESC"),
    pytest.param("\x07", "control_character", id="BEL"),
    pytest.param("\n", "control_character", id="newline"),
    pytest.param("\r", "control_character", id="carriage return"),
    pytest.param("\t", "control_character", id="tab"),
    pytest.param("\x7f", "control_character", id="DEL"),
    pytest.param("\x9b", "control_character", id="C1 CSI"),
    pytest.param("\u2028", "control_character", id="line separator"),
    pytest.param("\u2029", "control_character", id="paragraph separator"),
    pytest.param("\u202e", "bidi_character", id="right-to-left override"),
    pytest.param("\u2066", "bidi_character", id="left-to-right isolate"),
    pytest.param("\u200f", "bidi_character", id="right-to-left mark"),
    pytest.param("\u200b", "invisible_character", id="zero width space"),
    pytest.param("\u200d", "invisible_character", id="zero width joiner"),
    pytest.param("\ufeff", "invisible_character", id="byte order mark"),
    pytest.param("\u00ad", "invisible_character", id="soft hyphen"),
    pytest.param("\U000e0041", "invisible_character", id="tag letter"),
    pytest.param("\u115f", "invisible_character", id="hangul filler"),
    pytest.param("\u2800", "invisible_character", id="braille blank"),
    pytest.param("\u00a0", "space_character", id="no-break space"),
    pytest.param("\u0378", "unassigned_character", id="unassigned"),
    pytest.param("\ue000", "private_use_character", id="private use"),
    pytest.param("\uff41", "not_normalized", id="fullwidth a"),
    pytest.param("\u212a", "not_normalized", id="kelvin sign"),
    pytest.param("\U0001d41a", "not_normalized", id="mathematical bold a"),
    pytest.param("\u0301", "not_normalized", id="decomposed accent"),
]


def _commits(db: DatasetLog) -> int:
    return len(list(db.store.read_all()))


def _name_calls(db: DatasetLog, ds: str, bad: str) -> list[tuple[Callable[[], object], Loc]]:
    """Every write that takes a name, tag, project id or key, given ``bad`` there."""
    return [
        (lambda: db.create_dataset(project_id="pr", name=bad), ("body", "name")),
        (lambda: db.create_dataset(project_id=bad, name="fresh"), ("body", "project_id")),
        (lambda: db.update_dataset(ds, name=bad), ("body", "name")),
        (lambda: db.fork(ds, name=bad), ("body", "name")),
        (lambda: db.name_version(ds, 0, bad), ("body", "name")),
        (lambda: db.set_tag(ds, bad, 0), ("body", "tag")),
        (lambda: db.create_datapoint(ds, [{}], version_name=bad), ("body", "version_name")),
        (lambda: db.upsert(ds, [{}], action="add", version_name=bad), ("body", "version_name")),
        (lambda: db.create_datapoint(ds, [{}], idempotency_key=bad), ("idempotency_key",)),
        (lambda: db.restore(ds, 0, idempotency_key=bad), ("idempotency_key",)),
    ]


@pytest.mark.parametrize(("char", "kind"), REFUSED)
def test_every_write_refuses_the_character_in_a_name_naming_it_and_its_index(
    db: DatasetLog, char: str, kind: str
) -> None:
    """A refused character anywhere a name goes is a ValidationError at that argument, of
    its kind, naming the character as U+XXXX and where it is; nothing is written."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.create_datapoint(ds, [{}])
    bad = "qa" + char + "-1"
    before = _commits(db)
    for call, loc in _name_calls(db, ds, bad):
        with pytest.raises(ValidationError) as raised:
            call()
        [detail] = raised.value.details
        assert (detail.loc, detail.type) == (loc, kind)
        assert f"U+{ord(char):04X}" in detail.msg
        assert "index 2" in detail.msg
    assert _commits(db) == before
    assert [d.name for d in db.list_datasets(None)] == ["qa"]
    assert db.list_tags(ds) == []


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[DatasetLog, str]]:
    """One in-memory log with a dataset at version 1, reused by every example of a module."""
    with DatasetLog(":memory:") as db:
        ds = db.create_dataset(project_id="pr", name="qa").id
        db.create_datapoint(ds, [{}])
        yield db, ds


@given(bad=invalid_names())
def test_every_name_the_kit_calls_invalid_is_refused_everywhere(
    shared: tuple[DatasetLog, str], bad: tuple[str, str, int]
) -> None:
    """Each write refuses each invalid name the test kit draws, of its type, writing nothing."""
    db, ds = shared
    name, kind, index = bad
    before = _commits(db)
    for call, loc in _name_calls(db, ds, name):
        with pytest.raises(ValidationError) as raised:
            call()
        [detail] = raised.value.details
        assert (detail.loc, detail.type) == (loc, kind)
        assert f"at index {index}" in detail.msg
    assert _commits(db) == before


def test_a_look_alike_form_is_refused_with_the_form_to_write() -> None:
    """A name NFKC would change says which form to write instead."""
    with DatasetLog(":memory:") as db, pytest.raises(ValidationError) as raised:
        db.create_dataset(project_id="pr", name="\uff50rod")
    assert "'prod'" in raised.value.details[0].msg


@pytest.mark.parametrize(
    "name",
    [
        "données",
        "数据集-2026",
        "бакет",
        "بيانات",
        "qa set (v2)",
        "\U0001f600" * 3,
        "\u2764\ufe0f-qa",  # a variation selector is part of how an emoji is written
        "a\\x1b",  # a backslash and letters are text, not a control
    ],
)
def test_names_in_any_script_are_accepted_as_given(db: DatasetLog, name: str) -> None:
    """Printable names in normal form, in any script, are stored and read back exactly."""
    made = db.create_dataset(project_id=name, name=name)
    assert (made.project_id, made.name) == (name, name)
    db.set_tag(made.id, name, 0)
    assert db.get_version(made.id, name).number == 0


@pytest.mark.parametrize("char", ["\x1b", "\x07", "\x9b", "\x7f", "\x08"])
def test_descriptions_refuse_terminal_controls(db: DatasetLog, char: str) -> None:
    """A description is prose, but holds no control character that acts on a terminal."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    before = _commits(db)
    bad = "nice" + char
    calls: list[tuple[Callable[[], object], Loc]] = [
        (
            lambda: db.create_dataset(project_id="pr", name="x", description=bad),
            ("body", "description"),
        ),
        (lambda: db.update_dataset(ds, description=bad), ("body", "description")),
        (lambda: db.fork(ds, name="y", description=bad), ("body", "description")),
        (lambda: db.name_version(ds, 0, "v0", description=bad), ("body", "description")),
        (
            lambda: db.create_datapoint(ds, [{}], version_name="v", version_description=bad),
            ("body", "version_description"),
        ),
    ]
    for call, loc in calls:
        with pytest.raises(ValidationError) as raised:
            call()
        [detail] = raised.value.details
        assert (detail.loc, detail.type) == (loc, "control_character")
        assert f"U+{ord(char):04X}" in detail.msg
        assert "index 4" in detail.msg
    assert _commits(db) == before


def test_descriptions_keep_line_breaks_tabs_and_right_to_left_text(db: DatasetLog) -> None:
    """Newlines, tabs, carriage returns and bidi marks are prose: a description keeps them."""
    prose = "first line\r\nsecond\tline\n\u05e9\u05dc\u05d5\u05dd \u200fok\u202e"
    made = db.create_dataset(project_id="pr", name="qa", description=prose)
    assert db.get_dataset(made.id).description == prose


@contextmanager
def unchecked_names() -> Iterator[None]:
    """Write as a release before the character rules did: names take any storable string."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fields, "name_character_problems", lambda text, loc: [])
        patch.setattr(fields, "description_character_problems", lambda t, loc: [])
        yield


HOSTILE = "evil\x1b]0;pwned\x07\x1b[2J\n\u202eqa"


def test_names_an_older_release_stored_stay_readable_and_addressable(db: DatasetLog) -> None:
    """Every read, lookup, move away and delete works on a name the rules now refuse, and
    verify finds nothing wrong with it."""
    with unchecked_names():
        made = db.create_dataset(project_id=HOSTILE, name=HOSTILE, description=HOSTILE)
        db.create_datapoint(made.id, [{}], version_name=HOSTILE, version_description=HOSTILE)
        db.set_tag(made.id, HOSTILE + "-tag", 1)
        fork = db.fork(made.id, name=HOSTILE + "-fork", version=HOSTILE)
    assert [d.name for d in db.list_datasets(HOSTILE)] == [HOSTILE, HOSTILE + "-fork"]
    assert db.get_version(made.id, HOSTILE).number == 1
    assert db.get_version(made.id, HOSTILE + "-tag").number == 1
    assert fork.forked_from is not None
    assert HOSTILE in db.list_versions(fork.id)[0].message
    db.delete_tag(made.id, HOSTILE + "-tag")
    assert db.update_dataset(made.id, name="renamed").name == "renamed"
    db.delete_dataset(fork.id)
    assert db.verify().ok
