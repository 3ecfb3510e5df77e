"""``datasetlog demo``: a few versions committed, printed, rebuilt and diffed."""

from __future__ import annotations

from datasetlog import Datapoint, DatasetLog, SQLiteLogSource
from datasetlog.cli.output import say


def _describe(datapoint: Datapoint | None) -> str:
    if datapoint is None:
        return ""
    question = (datapoint.inputs or {}).get("question", "")
    answer = (datapoint.target or {}).get("answer", (datapoint.target or {}).get("output", ""))
    return f"{question} -> {answer}"[:38]


def demo(path: str) -> None:
    """Commit datapoints over several versions, print them, rebuild an early one, diff it."""
    with DatasetLog(path) as db:
        logs = SQLiteLogSource(path)
        db.logs = logs
        name = f"arithmetic-{len(db.list_datasets('pr_demo')) + 1}"
        dataset = db.create_dataset(project_id="pr_demo", name=name, description="Sums")
        say(f"store {path}: dataset {dataset.id} ({name})")
        say()

        db.create_datapoint(dataset.id, {"inputs": {"question": "2+2?"}, "target": {"answer": "4"}})
        added = db.create_datapoint(
            dataset.id,
            [
                {"inputs": {"question": f"{n}+{n}?"}, "target": {"answer": str(2 * n)}}
                for n in (3, 5, 7)
            ],
        )
        log_ids = [
            logs.record_log(
                inputs={"question": question},
                messages=[{"role": "user", "content": question}],
                output=answer,
            ).id
            for question, answer in (("9+9?", "18"), ("1+1?", "2"))
        ]
        db.create_datapoint(dataset.id, {"log_ids": log_ids})
        db.update_datapoint(added[1].id, target={"answer": "10", "checked": True})
        db.delete_datapoints([added[0].id, added[2].id])
        db.name_version(dataset.id, 2, "first-batch", description="before the logs")
        db.set_tag(dataset.id, "prod", "latest")

        say(f"{'ver':>3}  {'id':<28}  {'rows':>4}  message")
        for version in db.list_versions(dataset.id):
            say(
                f"{version.number:>3}  {version.id:<28}  {version.datapoint_count:>4}  "
                f"{version.message}"
            )

        early = list(db.iter_datapoints(dataset.id, version="first-batch"))
        latest = list(db.iter_datapoints(dataset.id, version="prod"))
        say()
        say(f"{'version 2 (rebuilt)':<40}  latest version")
        for row in range(max(len(early), len(latest))):
            left = _describe(early[row]) if row < len(early) else ""
            right = _describe(latest[row]) if row < len(latest) else ""
            say(f"{left:<40}  {right}")
        diff = db.diff(dataset.id, "first-batch", "prod")
        counts = diff.counts
        say()
        say(
            f"diff first-batch (v{diff.base.number}) -> prod (v{diff.target.number}): "
            f"{counts.added} added, {counts.removed} removed, {counts.changed} changed"
        )
        for change in diff.changed:
            for field in change.fields:
                path = ".".join(map(str, field.path))
                say(f"  {change.datapoint_id} {path}: {field.old!r} -> {field.new!r}")
        report = db.verify()
        say()
        say(f"verify: {'ok' if report else f'{len(report.problems)} problem(s)'}")
        for problem in report.problems:
            say(f"- {problem}")
        logs.close()
