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
from datasetlog.integrity.report import Problem, VerifyReport
from datasetlog.integrity.verify import verify
from datasetlog.models import ChatMessage, Datapoint, Dataset, Log, Page, Role, ToolCall, Version
from datasetlog.requests import DatapointRequest, LogsRequest
from datasetlog.serialization.v4 import to_v4, to_v4_json
from datasetlog.sources.base import LogSource
from datasetlog.sources.memory import DictLogSource
from datasetlog.sources.sqlite import SQLiteLogSource
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
    "Problem",
    "Role",
    "SQLiteEventStore",
    "SQLiteLogSource",
    "StoreError",
    "ToolCall",
    "ValidationError",
    "VerifyReport",
    "Version",
    "open_store",
    "to_v4",
    "to_v4_json",
    "verify",
]
