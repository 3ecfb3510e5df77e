"""Shared pieces of the benchmarks: payloads, the floor, baselines, timing and tables.

Every figure is a ratio measured side by side in one run: the thing measured
and its reference are timed in interleaved rounds (reference, ours, reference,
ours, ...) and the BEST of each is compared, since stalls on a shared machine
only ever add time; medians are printed beside them.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from datasetlog import Datapoint, DatasetLog
from datasetlog import serialization as _serialization
from datasetlog.projector import project
from datasetlog.serialization import decode_commit

DURABILITY: Final = "normal"
"""The durability every datasetlog store here is opened with (the library default)."""

MAX_PER_REQUEST: Final = 100_000
"""The most datapoints one ``create_datapoint`` call accepts; big builds use this chunk."""

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
SKIPPED_ES: Final = "eventsourcing baseline skipped: eventsourcing is not installed"

Body = dict[str, Any]

# -- payloads ------------------------------------------------------------------------------

_WORD_TEXT = (
    "the of and to in is it you that was for on are with as his they be at one have this "
    "from or had by hot word but what some we can out other were all there when up use "
    "your how said an each she which do their time if will way about many then them "
    "write would like so these her long make thing see him two has look more day could "
    "go come did number sound no most people my over know water than call first who may "
    "down side been now find model answer question context prompt score label dataset "
    "version review summary travel invoice refund order account password shipping "
    "delivery weather recipe python error"
)
_WORDS = _WORD_TEXT.split()
_CORPUS: Final = " ".join(random.Random(0).choices(_WORDS, k=40_000))


def _text(rng: random.Random, low: int, high: int) -> str:
    length = rng.randint(low, high)
    start = rng.randrange(0, len(_CORPUS) - length)
    return _CORPUS[start : start + length].strip() or "x"


def make_bodies(seed: int, start: int, count: int) -> list[Body]:
    """``count`` realistic datapoint bodies (v4 request JSON), deterministic in seed and start.

    Each has inputs with 2-3 short string keys, a user and an assistant message of
    50-150 characters, and a target ``{"answer": ..., "score": 0.5}``. Text is ASCII.
    """
    rng = random.Random(seed * 1_000_003 + start)
    bodies: list[Body] = []
    for _ in range(count):
        inputs = {"question": _text(rng, 20, 60), "context": _text(rng, 10, 30)}
        if rng.random() < 0.5:
            inputs["lang"] = "en"
        bodies.append(
            {
                "inputs": inputs,
                "messages": [
                    {"role": "user", "content": _text(rng, 50, 150)},
                    {"role": "assistant", "content": _text(rng, 50, 150)},
                ],
                "target": {"answer": _text(rng, 10, 40), "score": 0.5},
            }
        )
    return bodies


def body_bytes(body: Body) -> int:
    """The payload size of a datapoint: the bytes of its body as compact JSON."""
    return len(orjson.dumps(body))


def make_records(bodies: Sequence[Body], start: int, *, now: str | None = None) -> list[Body]:
    """Bodies as stored records (id and timestamps added), for the non-datasetlog baselines."""
    stamp = now or dt.datetime.now(dt.UTC).isoformat()
    return [
        {"id": f"dp_{start + i:024d}", "created_at": stamp, "updated_at": stamp, **body}
        for i, body in enumerate(bodies)
    ]


# -- datasetlog helpers --------------------------------------------------------------------


def open_log(location: str | Path) -> DatasetLog:
    """Open a datasetlog store (an SQLite file, or a PostgreSQL URL) with the benchmark
    durability (which only SQLite stores take)."""
    return DatasetLog(location, durability=DURABILITY)


@dataclass
class Built:
    """A dataset built for a benchmark: its id, the version holding all rows, and row ids."""

    dataset_id: str
    version: int
    ids: list[str] = field(default_factory=list)


def build_dataset(
    log: DatasetLog,
    n: int,
    *,
    seed: int,
    name: str = "bench",
    chunk: int = MAX_PER_REQUEST,
    keep_ids: bool = False,
) -> Built:
    """Create a dataset and add ``n`` datapoints with ``create_datapoint``, ``chunk`` per call."""
    dataset = log.create_dataset(project_id="bench", name=name)
    built = Built(dataset.id, 0)
    for start in range(0, n, chunk):
        added = log.create_datapoint(dataset.id, make_bodies(seed, start, min(chunk, n - start)))
        built.version += 1
        if keep_ids:
            built.ids.extend(datapoint.id for datapoint in added)
    return built


def stored_payloads(log: DatasetLog, dataset_id: str, version: int) -> Iterator[str]:
    """The JSON text of a version's datapoints exactly as datasetlog stores each one."""
    for data in log.iter_datapoints_v4(dataset_id, version=version):
        del data["dataset_id"]
        yield orjson.dumps(data).decode()


def decode_datapoints(dataset_id: str, payloads: Iterable[str]) -> Iterator[Datapoint]:
    """Stored payloads to Datapoint objects with datasetlog's own decoder (its batch
    decoder where it has one), so that baselines pay the same decoding cost."""
    batch = getattr(_serialization, "datapoints_from_json", None)
    if batch is not None:
        decoded: Iterator[Datapoint] = batch(dataset_id, [payloads])
        return decoded
    return (_serialization.datapoint_from_json(dataset_id, p) for p in payloads)


def consume(items: Iterable[object]) -> int:
    """Consume an iterable, dropping each item; return how many there were."""
    count = 0
    for _ in items:
        count += 1
    return count


def replay_datapoints(log: DatasetLog, dataset_id: str, version: int) -> list[Datapoint]:
    """Baseline (b): pure event replay, no read models: fold every commit up to ``version``."""
    commits = (decode_commit(stored) for stored in log.store.read_stream(dataset_id))
    return project(commits, version=version).datapoints()


# -- the floor and the copy-on-commit baseline --------------------------------------------

FLOOR_SELECT: Final = "SELECT payload FROM floor ORDER BY id"


class Floor:
    """The floor: payloads as rows of ``floor(id INTEGER PRIMARY KEY, payload TEXT)``."""

    backend = "sqlite"

    def __init__(self, path: Path, payloads: Iterable[str] | None = None) -> None:
        self.path = path
        self.location = str(path)
        self.conn = sqlite3.connect(path, isolation_level=None)
        if payloads is not None:
            self.conn.execute("CREATE TABLE floor (id INTEGER PRIMARY KEY, payload TEXT)")
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "INSERT INTO floor (payload) VALUES (?)", ((p,) for p in payloads)
            )
            self.conn.execute("COMMIT")

    def payloads(self) -> Iterator[str]:
        """The payloads, in order."""
        for (payload,) in self.conn.execute(FLOOR_SELECT):
            yield payload

    def read(self) -> int:
        """One ``SELECT payload FROM floor ORDER BY id``, each row decoded and dropped."""
        loads = orjson.loads
        count = 0
        for (payload,) in self.conn.execute(FLOOR_SELECT):
            loads(payload)
            count += 1
        return count

    def close(self) -> None:
        self.conn.close()


class CopyOnCommit:
    """Baseline (a): the literal v4 layout; every version copies all rows of its parent.

    ``rows(version, ordinal, payload)`` clustered on ``(version, ordinal)``; a page
    is read with ``LIMIT/OFFSET`` as the v4 service does.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute(f"PRAGMA synchronous = {DURABILITY.upper()}")
        self.conn.execute(
            "CREATE TABLE rows (version INTEGER NOT NULL, ordinal INTEGER NOT NULL, "
            "payload TEXT NOT NULL, PRIMARY KEY (version, ordinal)) WITHOUT ROWID"
        )
        self.version = 0
        self.next_ordinal = 0

    def commit(
        self,
        add: Sequence[str] = (),
        update: Sequence[tuple[int, str]] = (),
        delete: Sequence[int] = (),
    ) -> int:
        """Commit one new version: copy the parent's rows, then apply the change."""
        conn = self.conn
        new = self.version + 1
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO rows SELECT ?, ordinal, payload FROM rows WHERE version = ?",
            (new, self.version),
        )
        conn.executemany(
            "UPDATE rows SET payload = ? WHERE version = ? AND ordinal = ?",
            [(payload, new, ordinal) for ordinal, payload in update],
        )
        conn.executemany(
            "DELETE FROM rows WHERE version = ? AND ordinal = ?", [(new, o) for o in delete]
        )
        conn.executemany(
            "INSERT INTO rows VALUES (?, ?, ?)",
            [(new, self.next_ordinal + i, payload) for i, payload in enumerate(add)],
        )
        conn.execute("COMMIT")
        self.next_ordinal += len(add)
        self.version = new
        return new

    def payloads(self, version: int) -> Iterator[str]:
        for (payload,) in self.conn.execute(
            "SELECT payload FROM rows WHERE version = ? ORDER BY ordinal", (version,)
        ):
            yield payload

    def read_datapoints(self, dataset_id: str, version: int) -> int:
        """Read a version materializing Datapoint objects, as ``iter_datapoints`` does."""
        return consume(decode_datapoints(dataset_id, self.payloads(version)))

    def read_dicts(self, dataset_id: str, version: int) -> int:
        """Read a version as v4 dicts, as ``iter_datapoints_v4`` does."""
        count = 0
        loads = orjson.loads
        for payload in self.payloads(version):
            data = loads(payload)
            data["dataset_id"] = dataset_id
            count += 1
        return count

    def page(self, dataset_id: str, version: int, page: int, size: int) -> list[Datapoint]:
        rows = self.conn.execute(
            "SELECT payload FROM rows WHERE version = ? ORDER BY ordinal LIMIT ? OFFSET ?",
            (version, size, (page - 1) * size),
        ).fetchall()
        return list(decode_datapoints(dataset_id, [payload for (payload,) in rows]))

    def close(self) -> None:
        self.conn.close()


# -- files ---------------------------------------------------------------------------------


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    """A temporary directory for one script run, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="datasetlog-bench-") as name:
        yield Path(name)


def checkpoint(path: Path) -> None:
    """Fold the WAL into the main file and truncate it, from a separate connection."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for _ in range(100):
            busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            time.sleep(0.01)
    raise RuntimeError(f"could not checkpoint {path}")


def file_bytes(path: Path) -> int:
    """The size of an SQLite file plus its WAL, if any."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


# -- timing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Samples of one measured operation, in seconds."""

    samples: tuple[float, ...]

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[], object]) -> float:
    """Run ``fn`` once after a garbage collection; return its wall time in seconds."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(
    fns: Sequence[Callable[[], object]], *, repeat: int, warmup: int = 1, collect: bool = True
) -> list[Timing]:
    """Time functions in interleaved rounds (a, b, a, b, ...) after ``warmup`` untimed rounds.

    ``collect=False`` skips the garbage collection before each call (for sub-ms calls).
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            if collect:
                samples[i].append(timed(fn))
            else:
                start = time.perf_counter()
                fn()
                samples[i].append(time.perf_counter() - start)
    return [Timing(tuple(s)) for s in samples]


def best_of(fn: Callable[[], object], repeat: int) -> Timing:
    """Time one function ``repeat`` times (for slow baselines outside the paired rounds)."""
    return Timing(tuple(timed(fn) for _ in range(repeat)))


# -- formatting ----------------------------------------------------------------------------


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


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


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


# -- environment and arguments -------------------------------------------------------------


def _memory_gib() -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / (1 << 20):.1f} GiB"
    return "?"


def code_revision() -> str:
    """The git commit of the code measured, marked ``+dirty`` if datasetlog/ has changes.

    ``DATASETLOG_BENCH_REVISION`` overrides it, for runs from an exported tree.
    """
    override = os.environ.get("DATASETLOG_BENCH_REVISION")
    if override:
        return override
    git = shutil.which("git")
    if git is None:
        return "unknown"

    def run(*args: str) -> str:
        done = subprocess.run(
            [git, *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=30
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    head = run("rev-parse", "--short", "HEAD") or "unknown"
    dirty = run("status", "--porcelain", "--", "datasetlog")
    return head + ("+dirty" if dirty else "")


def environment() -> str:
    """One line: date, machine, versions, the code revision and the durability setting."""
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (
        f"{now} | {platform.machine()} nproc={os.cpu_count()} mem={_memory_gib()} | "
        f"Python {platform.python_version()} | SQLite {sqlite3.sqlite_version} | "
        f"orjson {orjson.__version__} | datasetlog @ {code_revision()} | "
        f"durability={DURABILITY}"
    )


def print_header(script: str, settings: str, backends: str | None = None) -> None:
    """The script's heading, the environment line and, if given, the backends line."""
    lines = [f"## benchmarks.{script}: {settings}", "", environment()]
    if backends:
        lines.extend(["", backends])
    print("\n".join(lines) + "\n", flush=True)


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """``--backend sqlite|postgres|both`` and ``--postgres-url URL``."""
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgres", "both"),
        default=None,
        help="the backends to measure datasetlog on (default: both when a PostgreSQL "
        "server can be started or is given, else sqlite)",
    )
    parser.add_argument(
        "--postgres-url",
        default=None,
        metavar="URL",
        help="use this PostgreSQL server (postgresql://user@host:port/db, no query string) "
        "instead of starting a throwaway one; each store gets a fresh schema, dropped after",
    )


def make_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--repeat", type=int, default=None, help="paired rounds per figure")
    add_backend_options(parser)
    return parser


def pick(value: int | None, *, quick: bool, default: int, small: int) -> int:
    """An explicit argument, else the quick or the default size."""
    if value is not None:
        return value
    return small if quick else default


# -- peak memory, measured in a subprocess -------------------------------------------------

_PROBE = "from benchmarks._common import memory_probe_main; memory_probe_main()"


def _status_kib(key: str) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ``clear_refs``); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def probe_memory(
    kind: str,
    *,
    store: str | Path,
    dataset_id: str,
    version: int,
    floor: str | Path,
    trace: bool,
    floor_kind: str = "sqlite",
) -> dict[str, float]:
    """Iterate a version in a fresh interpreter; return its memory growth and time.

    ``kind`` is ``ours`` (``iter_datapoints``), ``ours_v4`` (``iter_datapoints_v4``)
    or ``floor``; ``store`` is where the datasetlog store is (a file, or a PostgreSQL
    URL), ``floor`` where the floor table is, ``floor_kind`` which backend holds it
    (``sqlite`` or ``postgres``). ``rss_growth_mb`` is the peak RSS during the
    iteration (``VmHWM`` after resetting it, else ``ru_maxrss``) less the RSS just
    before it; with ``trace`` the tracemalloc peak is reported too.
    """
    spec = {
        "kind": kind,
        "store": str(store),
        "dataset_id": dataset_id,
        "version": version,
        "floor": str(floor),
        "floor_kind": floor_kind,
        "trace": trace,
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(spec)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def memory_probe_main() -> None:
    """The subprocess side of :func:`probe_memory`."""
    spec = json.loads(sys.argv[1])
    kind = spec["kind"]
    items: Iterator[object]
    cache_kib = 0.0
    if kind == "floor" and spec["floor_kind"] == "postgres":
        from benchmarks._backends import pg_connect, pg_floor_payloads

        pg = pg_connect(spec["floor"])  # connected before the measured window, as SQLite is
        loads = orjson.loads
        items = (loads(payload) for payload in pg_floor_payloads(pg))
    elif kind == "floor":
        conn = sqlite3.connect(spec["floor"])
        loads = orjson.loads
        items = (loads(payload) for (payload,) in conn.execute(FLOOR_SELECT))
    else:
        log = open_log(spec["store"])
        if log.store.dialect == "sqlite":  # the SQLite page cache setting, for the report
            with contextlib.suppress(Exception):
                connection = getattr(log.store, "connection", None)
                if connection is not None:
                    pages = connection().execute("PRAGMA cache_size").fetchone()[0]
                    cache_kib = -pages if pages < 0 else pages * 4
        if kind == "ours":
            items = log.iter_datapoints(spec["dataset_id"], version=spec["version"])
        else:
            items = log.iter_datapoints_v4(spec["dataset_id"], version=spec["version"])
    gc.collect()
    reset = _reset_peak_rss()
    before = _status_kib("VmRSS") or 0
    if spec["trace"]:
        tracemalloc.start()
    start = time.perf_counter()
    count = consume(items)
    elapsed = time.perf_counter() - start
    traced_peak = tracemalloc.get_traced_memory()[1] if spec["trace"] else 0
    peak = (_status_kib("VmHWM") if reset else None) or resource.getrusage(
        resource.RUSAGE_SELF
    ).ru_maxrss
    print(
        json.dumps(
            {
                "count": count,
                "seconds": elapsed,
                "rss_growth_mb": max(0, peak - before) * 1024 / 1e6,
                "traced_peak_mb": traced_peak / 1e6,
                "cache_size_mb": cache_kib * 1024 / 1e6,
            }
        )
    )
