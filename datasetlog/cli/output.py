"""Everything the command line prints, made safe: no string from a store, a file or a user acts
on the terminal.

Each character ``str.isprintable`` refuses (controls, bidi and other format
characters, line and paragraph separators, special spaces, unassigned code
points) prints as a Python-style escape (``\\x1b``, ``\\u202e``), so a name an
older release stored cannot clear the screen, set the window title, reorder a
line or forge a table row. With the group's ``--ascii`` every non-ASCII
character is escaped too, which tells look-alikes apart (a Cyrillic a
prints ``\\u0430``). JSON output keeps the exact values: it writes those
characters as JSON escapes, which every JSON reader decodes back.

Commands print only through this module; a test holds them to it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click
import orjson

from datasetlog import to_v4

ASCII_OPTION = "ascii_only"
"""The group's parameter that asks for every non-ASCII character escaped."""


def _ascii_only() -> bool:
    context = click.get_current_context(silent=True)
    return bool(context is not None and context.find_root().params.get(ASCII_OPTION))


def _shown(char: str, ascii_only: bool) -> bool:
    return char.isprintable() and (char.isascii() or not ascii_only)


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _python_escape(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON writes characters beyond the BMP
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _escaped(text: str, escape: Callable[[str], str]) -> str:
    if text.isascii() and text.isprintable():  # the common case, without a context lookup
        return text
    ascii_only = _ascii_only()
    if text.isprintable() and not ascii_only:
        return text
    return "".join(char if _shown(char, ascii_only) else escape(char) for char in text)


def printable(value: object) -> str:
    """``str(value)`` with every character that could act on a terminal or hide escaped
    (newlines too: the result is one line)."""
    return _escaped(str(value), _python_escape)


def say(value: object = "", *, err: bool = False) -> None:
    """Print ``value`` as one safe line, on standard error if ``err``."""
    click.echo(printable(value), err=err)


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> None:
    """Print rows as an aligned table under a header, each cell escaped to one line."""
    cells = [[printable(cell) if cell is not None else "" for cell in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(header)]
    line = "  ".join(f"{{:<{width}}}" for width in widths)
    click.echo(line.format(*header).rstrip())
    for row in cells:
        click.echo(line.format(*row).rstrip())


def json_text(value: object, **extra: object) -> str:
    """``value`` as v4 JSON on one line, with unprintable characters as JSON escapes; an
    object gets the ``extra`` keys too (a write's ``committed``)."""
    data = to_v4(value)
    if extra:
        data = {**data, **to_v4(extra)}
    return _escaped(orjson.dumps(data).decode(), _json_escape)


def json_lines(values: Sequence[object]) -> None:
    """Print each value as one line of v4 JSON."""
    for value in values:
        click.echo(json_text(value))


def json_value(value: object, **extra: object) -> None:
    """Print one value as v4 JSON (an object with the ``extra`` keys too)."""
    click.echo(json_text(value, **extra))


@contextmanager
def progress_bar(total: Callable[[], int | None], label: str) -> Iterator[Callable[[int], object]]:
    """A progress bar on standard error when it is a terminal; a no-op when piped, or when
    ``total`` (only called when a bar could be shown: it may cost a read) is unknown (None)."""
    length = total() if sys.stderr.isatty() else None
    if length is None:
        yield lambda done: None
        return
    with click.progressbar(length=length, label=printable(label), file=sys.stderr) as bar:
        yield bar.update


_OWN_HELP: tuple[type[Exception], ...] = tuple(
    kind
    for kind in (getattr(click.exceptions, "NoArgsIsHelpError", None),)
    if isinstance(kind, type) and issubclass(kind, Exception)
)
"""Errors whose message is the command's own help (click 8.2+ raises one for a bare group):
text of ours, with line breaks to keep."""


@contextmanager
def _escaped_click_errors() -> Iterator[None]:
    try:
        yield
    except click.ClickException as error:  # click prints it; its message may quote argv
        if not isinstance(error, _OWN_HELP):
            # Escaped where click keeps it (typed Final, but only ever read back to be printed).
            vars(error)["message"] = printable(error.message)
        raise


class EscapingGroup(click.Group):
    """A click group whose usage errors (which quote arguments and paths) print escaped."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Parse the group's own options; a usage error prints escaped."""
        with _escaped_click_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        """Parse and run the command; a usage error prints escaped."""
        with _escaped_click_errors():
            return super().invoke(ctx)
