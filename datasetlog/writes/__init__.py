"""The write side of DatasetLog: one call, one transaction of read-check-append.

``loop`` runs a write (retries of lost races, the paused collector);
``datasets`` and ``datapoints`` build the commits of each operation.
"""
