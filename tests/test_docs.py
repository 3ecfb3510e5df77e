"""The documentation runs as written: README.md and every guide in docs/.

Every ```python block of a page runs, in order, in an empty folder, with a namespace of
the page's own; every ```shell block is a session that runs in an empty folder of its
own. ```text blocks are shown, never run. Every relative link resolves, every guide is
linked from the README, and every module, name and file the pages cite exists. The
CLI reference in docs/cli.md names exactly the commands, and every argument, option and
choice of each.
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
import click
import pytest

from datasetlog.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
GUIDES = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *GUIDES]
CLI_GUIDE = ROOT / "docs" / "cli.md"

README_LINES = 200  # a front door: what it is, the two commands, the Quickstart, a map

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
    """A page's path in the repository, as tests are named by it."""
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
    """Every ```shell session of every page."""
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
    "docs/cli.md": (
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


def test_readme_is_a_front_door() -> None:
    """The README stays short; the guides hold the rest."""
    assert len(README.read_text().splitlines()) <= README_LINES


def test_every_guide_is_linked_from_the_readme() -> None:
    """The README's map links every page of docs/."""
    assert GUIDES, "docs/ holds no guides"
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


def reference() -> dict[str, str]:
    """docs/cli.md's reference table: each command's name (``tag``; ``group sub`` for a
    subcommand) and the usage its entry gives."""
    section = CLI_GUIDE.read_text().split("\n## Reference\n", 1)[1].split("\n## ", 1)[0]
    entries = {}
    for usage in re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE):
        words = usage.replace("\\|", "|").split()
        command = []
        while words and re.fullmatch(r"[a-z][a-z-]*", words[0]):
            command.append(words.pop(0))
        entries[" ".join(command)] = " ".join(words)
    return entries


def commands(group: click.Group = cli, prefix: str = "") -> dict[str, click.Command]:
    """Every command a user runs, by the words that name it (subcommands of groups too)."""
    found: dict[str, click.Command] = {}
    for word, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(commands(command, f"{prefix}{word} "))
        else:
            found[f"{prefix}{word}"] = command
    return found


def spellings(param: click.Parameter) -> list[str]:
    """What an entry must write for a parameter: each word of an argument's metavar
    (``DATASET|DATAPOINT_ID...`` is two), or every flag of an option, and each value of a
    choice."""
    written = (
        re.findall(r"[\w-]+", param.human_readable_name)
        if isinstance(param, click.Argument)
        else [*param.opts, *param.secondary_opts]
    )
    if isinstance(param.type, click.Choice):
        written += [str(choice) for choice in param.type.choices]
    return written


def test_cli_reference_documents_exactly_the_commands() -> None:
    """Every command has an entry in docs/cli.md's reference, and every entry a command."""
    assert sorted(reference()) == sorted(commands())


@pytest.mark.parametrize("command", sorted(commands()))
def test_cli_reference_names_every_argument_and_option(command: str) -> None:
    """A command's entry names each of its arguments and options (every spelling of a
    flag), and each choice an option takes."""
    written = set(re.findall(r"[\w-]+", reference().get(command, "")))
    wanted = [word for param in commands()[command].params for word in spellings(param)]
    assert [word for word in wanted if word not in written] == []


def test_cli_guide_names_the_global_options() -> None:
    """docs/cli.md names every option of ``datasetlog`` itself."""
    written = set(re.findall(r"[\w-]+", CLI_GUIDE.read_text()))
    assert [word for param in cli.params for word in spellings(param) if word not in written] == []
