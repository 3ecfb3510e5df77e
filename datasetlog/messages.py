"""Every automatic commit message, in one place.

Messages are part of what a version is: they are stored with it and shown by
``list_versions``, so changing one changes what new versions say (never what
old ones said).
"""

from __future__ import annotations


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def create_dataset() -> str:
    """The message of a dataset's version 0."""
    return "Create dataset"


def add_datapoints(count: int, *, from_logs: bool = False) -> str:
    """The message of a version that adds ``count`` datapoints (made from logs, or not)."""
    return f"Add {_counted(count, 'datapoint')}{' from logs' if from_logs else ''}"


def update_datapoint(datapoint_id: str) -> str:
    """The message of a version that replaces one datapoint's content."""
    return f"Update datapoint {datapoint_id}"


def update_datapoints(count: int) -> str:
    """The message of a version that replaces the content of ``count`` datapoints."""
    return f"Update {_counted(count, 'datapoint')}"


def delete_datapoints(count: int) -> str:
    """The message of a version that deletes ``count`` datapoints."""
    return f"Delete {_counted(count, 'datapoint')}"


def restore_version(number: int, name: str | None) -> str:
    """The message of a version whose content is that of version ``number`` (named ``name``)."""
    return f"Restore version {number}{f' ({name})' if name else ''}"


def upsert(action: str, base: int, added: int, removed: int, changed: int = 0) -> str:
    """The message of a version an upsert (``set``, ``add`` or ``remove``) on ``base`` made
    (``changed`` counts what a keyed upsert updated, and is left out when none)."""
    return (
        f"Upsert ({action}) on version {base}: "
        f"{_counted(added, 'datapoint')} added, {removed} removed"
        f"{f', {changed} changed' if changed else ''}"
    )


def fork_dataset(source_name: str, version: int) -> str:
    """The message of a fork's version 0, which holds version ``version`` of ``source_name``."""
    return f"Fork {source_name} at version {version}"


def merge(source_name: str, version: int, added: int, removed: int, changed: int) -> str:
    """The message of a version a merge of ``source_name`` (at ``version``) made."""
    return (
        f"Merge {source_name} version {version}: "
        f"{_counted(added, 'datapoint')} added, {removed} removed, {changed} changed"
    )
