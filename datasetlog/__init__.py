"""datasetlog: event-sourced dataset versioning with the v4 Datasets API."""

from datasetlog.errors import (
    ConflictError,
    DatasetLogError,
    ErrorDetail,
    NotFoundError,
    StoreError,
    ValidationError,
)
from datasetlog.facade import DatasetLog
from datasetlog.logs import DictLogSource, LogSource, SQLiteLogSource
from datasetlog.models import (
    ChatMessage,
    Datapoint,
    DatapointRequest,
    Dataset,
    Log,
    LogsRequest,
    Page,
    Role,
    ToolCall,
    Version,
)
from datasetlog.serialization import to_v4, to_v4_json
from datasetlog.store import SQLiteEventStore, open_store

__version__ = "0.1.0"

__all__ = [
    "ChatMessage",
    "ConflictError",
    "Datapoint",
    "DatapointRequest",
    "Dataset",
    "DatasetLog",
    "DatasetLogError",
    "DictLogSource",
    "ErrorDetail",
    "Log",
    "LogSource",
    "LogsRequest",
    "NotFoundError",
    "Page",
    "Role",
    "SQLiteEventStore",
    "SQLiteLogSource",
    "StoreError",
    "ToolCall",
    "ValidationError",
    "Version",
    "open_store",
    "to_v4",
    "to_v4_json",
]
