"""The read models of one store, each part built for its dialect."""

from __future__ import annotations

from datasetlog.readmodels.history import History
from datasetlog.readmodels.lookups import Lookups
from datasetlog.readmodels.schema import Schema
from datasetlog.readmodels.spans import Spans
from datasetlog.store.dialect import Dialect


class ReadModels:
    """The read models of one store: its tables, lookups, span reads and history reads.

    Commits are applied with :func:`~datasetlog.readmodels.apply.apply_commit`
    and pages found with :func:`~datasetlog.readmodels.paging.rank_start`,
    which need no dialect.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.schema = Schema(dialect)
        self.lookups = Lookups()
        self.spans = Spans()
        self.history = History(self.spans)
