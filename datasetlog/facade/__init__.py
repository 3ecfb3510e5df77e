"""The facade: :class:`DatasetLog`, one short delegation per operation, grouped by area."""

from datasetlog.facade.log import DatasetLog

__all__ = ["DatasetLog"]
