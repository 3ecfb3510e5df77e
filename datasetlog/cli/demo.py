"""``datasetlog demo``: a few versions committed, printed, rebuilt and diffed."""

from __future__ import annotations

from datasetlog import Datapoint, DatasetLog, SQLiteLogSource


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
        print(f"store {path}: dataset {dataset.id} ({name})\n")

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

        print(f"{'ver':>3}  {'id':<28}  {'rows':>4}  message")
        for version in db.list_versions(dataset.id):
            print(
                f"{version.number:>3}  {version.id:<28}  {version.datapoint_count:>4}  "
                f"{version.message}"
            )

        early = list(db.iter_datapoints(dataset.id, version="first-batch"))
        latest = list(db.iter_datapoints(dataset.id, version="prod"))
        print(f"\n{'version 2 (rebuilt)':<40}  latest version")
        for row in range(max(len(early), len(latest))):
            left = _describe(early[row]) if row < len(early) else ""
            right = _describe(latest[row]) if row < len(latest) else ""
            print(f"{left:<40}  {right}")
        diff = db.diff(dataset.id, "first-batch", "prod")
        counts = diff.counts
        print(
            f"\ndiff first-batch (v{diff.base.number}) -> prod (v{diff.target.number}): "
            f"{counts.added} added, {counts.removed} removed, {counts.changed} changed"
        )
        for change in diff.changed:
            for field in change.fields:
                path = ".".join(map(str, field.path))
                print(f"  {change.datapoint_id} {path}: {field.old!r} -> {field.new!r}")
        report = db.verify()
        print(f"\nverify: {'ok' if report else report}")
        logs.close()
