"""datasetlog: event-sourced dataset versioning with the v4 Datasets API."""

from typing import TYPE_CHECKING

from datasetlog.errors import (
    ConflictError,
    DatasetLogError,
    ErrorDetail,
    InterruptedAfterCommit,
    MergeConflictError,
    NotFoundError,
    StoreError,
    ValidationError,
)
from datasetlog.facade import DatasetLog
from datasetlog.integrity.report import Problem, VerifyIncompleteError, VerifyReport
from datasetlog.integrity.verify import verify
from datasetlog.models import (
    ABSENT,
    Change,
    ChatMessage,
    Datapoint,
    Dataset,
    Diff,
    DiffCounts,
    FieldChange,
    ForkPoint,
    Log,
    MergeConflict,
    MergeResult,
    OnConflict,
    Page,
    Revision,
    Role,
    Tag,
    TagMove,
    ToolCall,
    UpsertResult,
    Version,
)
from datasetlog.reads.resolve import VersionRef
from datasetlog.requests import DatapointRequest, LogsRequest
from datasetlog.serialization.v4 import to_v4, to_v4_json
from datasetlog.sources.base import LogSource
from datasetlog.sources.memory import DictLogSource
from datasetlog.sources.sqlite import SQLiteLogSource
from datasetlog.store import SQLiteEventStore, open_store

# Not in __all__, so that `import *` works without psycopg; imported lazily below.
if TYPE_CHECKING:
    from datasetlog.store.postgres import PostgresEventStore as PostgresEventStore

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``PostgresEventStore``, imported on first use: psycopg is an optional dependency."""
    if name == "PostgresEventStore":
        try:
            from datasetlog.store.postgres import PostgresEventStore
        except ImportError as error:
            raise ImportError(
                "PostgresEventStore needs psycopg: pip install 'datasetlog[postgres]'"
            ) from error
        return PostgresEventStore
    raise AttributeError(f"module 'datasetlog' has no attribute {name!r}")


__all__ = [
    "ABSENT",
    "Change",
    "ChatMessage",
    "ConflictError",
    "Datapoint",
    "DatapointRequest",
    "Dataset",
    "DatasetLog",
    "DatasetLogError",
    "DictLogSource",
    "Diff",
    "DiffCounts",
    "ErrorDetail",
    "FieldChange",
    "ForkPoint",
    "InterruptedAfterCommit",
    "Log",
    "LogSource",
    "LogsRequest",
    "MergeConflict",
    "MergeConflictError",
    "MergeResult",
    "NotFoundError",
    "OnConflict",
    "Page",
    "Problem",
    "Revision",
    "Role",
    "SQLiteEventStore",
    "SQLiteLogSource",
    "StoreError",
    "Tag",
    "TagMove",
    "ToolCall",
    "UpsertResult",
    "ValidationError",
    "VerifyIncompleteError",
    "VerifyReport",
    "Version",
    "VersionRef",
    "open_store",
    "to_v4",
    "to_v4_json",
    "verify",
]
