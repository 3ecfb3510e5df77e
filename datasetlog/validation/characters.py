"""Which characters a name or a description may hold, so that each prints as it is stored.

A name (dataset name, project id, version name, tag, idempotency key) holds
only characters that ``str.isprintable`` accepts, that is no control, format
(bidi, zero-width), separator other than the space, private-use, surrogate or
unassigned code point, nor one of the few letters that draw as nothing; and
it is in Unicode normal form NFKC, so that no two names differ only in how a
look-alike is encoded (a fullwidth p, U+FF50, and p; an accented letter
composed or not). Letters of any script are names: a Cyrillic a among Latin
letters is not refused, as telling look-alikes of different scripts apart
needs data Python does not ship, and mixed scripts are legitimate; the
command line's ``--ascii`` shows them. A description is prose: it may hold
line breaks, tabs and bidi marks, but no other control character.
"""

from __future__ import annotations

import unicodedata

from datasetlog.errors import ErrorDetail, Loc

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Unicode's Bidi_Control characters: they reorder how the text around them is displayed."""

BLANK_LETTERS = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")
"""Printable code points that draw as nothing (Unicode's default-ignorable letters and marks,
and the blank Braille pattern), used to make one name look like another or like none."""

PROSE_CONTROLS = frozenset("\t\n\r")
"""The control characters a description may hold: line breaks and tabs."""

# Every category str.isprintable refuses, and what a name may not hold of it.
_KINDS = {
    "Cc": ("control_character", "the control character"),
    "Zl": ("control_character", "the line separator"),
    "Zp": ("control_character", "the paragraph separator"),
    "Cf": ("invisible_character", "the invisible format character"),
    "Zs": ("space_character", "the special space"),  # only U+0020 is a space in a name
    "Co": ("private_use_character", "the private-use character"),
    "Cn": ("unassigned_character", "the unassigned code point"),
    "Cs": ("string_unicode", "the surrogate"),
}


def describe(char: str) -> str:
    """A character as ``U+XXXX`` and its Unicode name, e.g. ``U+202E (RIGHT-TO-LEFT OVERRIDE)``."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} ({name})" if name else f"U+{ord(char):04X}"


def _refused(char: str) -> tuple[str, str] | None:
    """The (error type, description) of a character no name may hold, or None."""
    if char in BIDI_CONTROLS:
        return "bidi_character", "the bidirectional control"
    if char in BLANK_LETTERS:
        return "invisible_character", "the blank character"
    if char.isprintable():
        return None
    return _KINDS[unicodedata.category(char)]


def name_character_problems(text: str, loc: Loc) -> list[ErrorDetail]:
    """The problem of a name's characters, naming the first refused one and its index.

    ``text`` is already a storable string (see ``require_string``).
    """
    if text.isascii() and text.isprintable():  # the common case; ASCII is in NFKC
        return []
    for index, char in enumerate(text):
        refused = _refused(char)
        if refused is not None:
            kind, what = refused
            return [
                ErrorDetail(loc, f"must not hold {what} {describe(char)} at index {index}", kind)
            ]
    if not _in_nfkc(text):
        index = next(i for i in range(len(text)) if not _in_nfkc(text[: i + 1]))
        msg = (
            f"must be in Unicode normal form NFKC: {describe(text[index])} at index {index} "
            f"has another form; write {unicodedata.normalize('NFKC', text)!r}"
        )
        return [ErrorDetail(loc, msg, "not_normalized")]
    return []


def _in_nfkc(text: str) -> bool:
    return unicodedata.is_normalized("NFKC", text)


def description_character_problems(text: str, loc: Loc) -> list[ErrorDetail]:
    """The problem of a description's characters: a control character other than a tab or
    line break, named with its index."""
    if text.isprintable():
        return []
    for index, char in enumerate(text):
        if char not in PROSE_CONTROLS and unicodedata.category(char) == "Cc":
            msg = f"must not hold the control character {describe(char)} at index {index}"
            return [ErrorDetail(loc, msg, "control_character")]
    return []
