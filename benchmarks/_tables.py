"""The printed tables: Markdown tables with standard columns, and how cells are formatted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from benchmarks._config import DURABILITY
from benchmarks._timing import Timing


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_timing(timing: Timing) -> str:
    """``best (med median)``."""
    return f"{fmt_time(timing.best)} (med {fmt_time(timing.median)})"


def fmt_ratio(best: float, median: float | None = None) -> str:
    text = f"{best:.2f}x"
    return text if median is None else f"{text} (med {median:.2f}x)"


def fmt_count(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def fmt_bytes(n: float) -> str:
    if abs(n) >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    if abs(n) >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB"
    return f"{n:.0f} B"


QUICK_NOTE: Final = (
    "quick run: the sizes are far too small to judge any target; "
    "it only shows that every script runs (results read 'not judged')"
)
_judging = True


def stop_judging() -> None:
    """Make every verdict 'not judged': for ``--quick`` runs, whose sizes prove nothing."""
    global _judging
    _judging = False


def verdict(ok: bool) -> str:
    if not _judging:
        return "not judged"
    return "PASS" if ok else "MISS"


def fmt_speedup(times: float) -> str:
    """How many times faster (or slower, below 1) ours was: never "0.83x faster"."""
    if times >= 1:
        return f"{times:.2f}x faster"
    return f"{1 / times:.2f}x slower"


def ratio_cells(ours: Timing, floor: Timing) -> tuple[float, str]:
    """The best-to-best ratio and its cell text (with the median-to-median ratio)."""
    ratio = ours.best / floor.best
    return ratio, fmt_ratio(ratio, ours.median / floor.median)


_settings = [f"durability={DURABILITY}"]


def set_table_settings(text: str) -> None:
    """What every table title states in brackets after it (default ``durability=normal``)."""
    _settings[0] = text


class Table:
    """A Markdown table with the standard columns, then baseline columns, then notes.

    With ``backend=True`` a ``backend`` column (``sqlite`` / ``postgres``) follows ``N``.
    """

    HEADER: Final = "| target | N |"

    def __init__(
        self,
        title: str,
        *,
        floor: str = "floor",
        ours: str = "datasetlog",
        ratio: str = "ratio",
        extras: Sequence[str],
        backend: bool = False,
    ) -> None:
        self.title = title
        lead = ["target", "N", "backend"] if backend else ["target", "N"]
        self.columns = [*lead, floor, ours, ratio, "goal", "result", *extras]
        self.rows: list[list[str]] = []
        self.notes: list[str] = []

    def add(self, *cells: str) -> None:
        row = list(cells) + ["-"] * (len(self.columns) - len(cells))
        self.rows.append(row[: len(self.columns)])

    def note(self, text: str) -> None:
        self.notes.append(text)

    def render(self) -> str:
        lines = [f"### {self.title} ({_settings[0]})", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines.extend("| " + " | ".join(row) + " |" for row in self.rows)
        if self.notes:
            lines.append("")
            lines.extend(f"- {text}" for text in self.notes)
        return "\n".join(lines) + "\n"

    def print(self) -> None:
        print(self.render(), flush=True)
