"""The documentation runs as written: README.md and every guide in docs/.

Every ```python block of a page runs, in order, in an empty folder, with a namespace of
the page's own; every ```shell block is a session that runs in an empty folder of its
own. ```text blocks are shown, never run. Every relative link resolves, every guide is
linked from the README, and every module, name and file the pages cite exists.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
GUIDES = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *GUIDES]

SHOWN = {"text"}  # fenced blocks shown and not run
RUN = {"python", "shell"}

_FENCE = re.compile(
    r"^(?P<indent>[ ]*)```(?P<lang>[\w-]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    flags=re.DOTALL | re.MULTILINE,
)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} (.+)$", flags=re.MULTILINE)
_CITED_NAME = re.compile(r"^datasetlog(?:\.\w+)+")
_CITED_PATH = re.compile(r"^(?:datasetlog|tests|benchmarks|docs|\.ci)/[\w./-]*$")


@attrs.frozen
class Block:
    """A fenced block of a page: its language, its text and the line it starts on."""

    page: Path
    lang: str
    body: str
    line: int

    def source(self) -> str:
        """The block as code whose line numbers are the page's."""
        return "\n" * self.line + self.body


def blocks(page: Path) -> list[Block]:
    """Every fenced block of a page, in order, dedented as written in a list item."""
    text = page.read_text()
    return [
        Block(
            page,
            found["lang"],
            textwrap.dedent(found["body"]),
            text.count("\n", 0, found.start("body")),
        )
        for found in _FENCE.finditer(text)
    ]


def prose(page: Path) -> str:
    """A page without its fenced blocks and inline code: the text that links."""
    return _INLINE_CODE.sub("", _FENCE.sub("", page.read_text()))


def name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    text = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings (a repeated heading gets -1, -2, ...)."""
    seen: dict[str, int] = {}
    for heading in _HEADING.findall(_FENCE.sub("", page.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
    return {base if n == 0 else f"{base}-{n}" for base, count in seen.items() for n in range(count)}


def sessions() -> list[Block]:
    return [block for page in PAGES for block in blocks(page) if block.lang == "shell"]


def test_readme_opens_with_the_two_commands() -> None:
    """The README's first code block installs and runs the demo, then the tests."""
    first = blocks(README)[0]
    assert first.lang == "sh"
    commands = [line for line in first.body.splitlines() if line and not line.startswith("#")]
    assert commands == [
        "pip install . && python -m datasetlog demo",
        'pip install -e ".[test]" && python -m pytest',
    ]


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run calls the README's test command verbatim."""
    script = (ROOT / ".ci" / "run").read_text()
    assert 'pip install -e ".[test]" && python -m pytest' in script


def test_readme_python_blocks_run_twice_in_one_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's ```python blocks run without error, twice in a row, saying what they did."""
    code = [block for block in blocks(README) if block.lang == "python"]
    assert code, "the README has no python examples"
    monkeypatch.chdir(tmp_path)
    for run in (1, 2):
        namespace: dict[str, object] = {}
        for block in code:
            exec(compile(block.source(), str(README), "exec"), namespace)  # noqa: S102
        assert f"qa-{run}: 6 versions, 3 datapoints in the latest" in capsys.readouterr().out


@pytest.mark.parametrize(
    "page", [page for page in GUIDES if any(b.lang == "python" for b in blocks(page))], ids=name
)
def test_guide_python_blocks_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A guide's ```python blocks run without error, in order, in one empty folder."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for block in blocks(page):
        if block.lang == "python":
            exec(compile(block.source(), str(page), "exec"), namespace)  # noqa: S102


# What a session must print, beyond succeeding: its page, and lines of its output.
SESSION_OUTPUT = {
    "README.md": (
        "version 1 -> 2: 0 added, 1 removed, 0 changed",  # the diff
        "ok:",  # verify
    ),
}


@pytest.mark.parametrize("session", sessions(), ids=lambda b: f"{name(b.page)}:{b.line}")
def test_shell_sessions_run(session: Block, tmp_path: Path) -> None:
    """A ```shell session runs as written in an empty folder, every command succeeding,
    with ``datasetlog`` the one installed beside this Python."""
    scripts = str(Path(sys.executable).parent)
    done = subprocess.run(
        ["/bin/bash", "-euo", "pipefail", "-c", session.body],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ['PATH']}"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for line in SESSION_OUTPUT.get(name(session.page), ()):
        assert line in done.stdout


def test_every_expected_session_output_has_a_session() -> None:
    """Each page SESSION_OUTPUT names holds a session, so its checks cannot fall away."""
    assert set(SESSION_OUTPUT) <= {name(block.page) for block in sessions()}


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_every_block_is_run_or_marked_shown(page: Path) -> None:
    """A fenced block is python or shell (run), or text (shown): none sits unrun by
    accident. The README's opening sh block is the two commands, checked above."""
    found = blocks(page)
    if page == README:
        found = found[1:]
    assert [b.lang for b in found if b.lang not in RUN | SHOWN] == []


def test_every_guide_is_linked_from_the_readme() -> None:
    """The README's map links every page of docs/."""
    targets = set(_LINK.findall(prose(README)))
    assert [name(page) for page in GUIDES if name(page) not in targets] == []


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_relative_links_resolve(page: Path) -> None:
    """Every relative link of a page names a file that exists, and a heading in it."""
    broken = []
    for target in _LINK.findall(prose(page)):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (anchor and anchor not in anchors(linked)):
            broken.append(target)
    assert broken == []


def resolves(dotted: str) -> bool:
    """Whether a dotted name is a module, or a name in one."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:end]))
        except ModuleNotFoundError:
            continue
        for part in parts[end:]:
            if not hasattr(found, part):
                return False
            found = getattr(found, part)
        return True
    return False


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_cited_names_and_files_exist(page: Path) -> None:
    """Every ``datasetlog.x`` name and every repository path a page quotes exists."""
    quoted = _INLINE_CODE.findall(_FENCE.sub("", page.read_text()))
    names = {found.group() for code in quoted if (found := _CITED_NAME.match(code))}
    paths = {code for code in quoted if _CITED_PATH.match(code)}
    assert sorted(n for n in names if not resolves(n)) == []
    assert sorted(p for p in paths if not (ROOT / p).exists()) == []
