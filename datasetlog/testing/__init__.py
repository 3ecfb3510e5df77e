"""The kit for testing datasetlog backends and services, shipped with the package.

- ``datasetlog.testing.contract``: :class:`EventStoreContract`, the promises of
  the event-store protocol as a pytest test class to subclass per backend.
- ``datasetlog.testing.stateful``, ``navigation``, ``upserts`` and ``forks``:
  hypothesis state machines (``DatasetLogMachine``, ``NavigationMachine``,
  ``UpsertMachine``, ``ForkMachine``) that check every read path of a
  :class:`~datasetlog.DatasetLog` against a plain model and the projector, over
  any backend you open them on. Each runs from a factory of machines on fresh
  stores, ``run_state_machine_as_test(lambda: UpsertMachine(open_db))``:
  ``datasetlog.testing.machine`` says how.
- ``datasetlog.testing.strategies``: hypothesis strategies for valid and
  invalid v4 requests.
- ``datasetlog.testing.postgres``: a throwaway PostgreSQL server
  (:func:`postgres_server`), re-exported here.

This package imports without hypothesis or pytest; the modules that need them
say so when imported without them: ``pip install "datasetlog[testing]"``.
"""

from datasetlog.testing.postgres import (
    PostgresUnavailableError,
    drop_schema_of,
    new_schema_location,
    postgres_server,
)

__all__ = [
    "PostgresUnavailableError",
    "drop_schema_of",
    "new_schema_location",
    "postgres_server",
]
