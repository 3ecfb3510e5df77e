"""Read models: tables derived only from events, updated in each commit's transaction.

Design: every datapoint *span* (one content of one datapoint) is a row in
``dl_rows`` with its dataset, its *ordinal* (the datapoint's place in the
dataset, fixed when it is first added), its validity interval
``[added_in, removed_in)`` in content versions, and the position of the event
that states its content (the JSON is stored once, in the event log). Version
``k`` is the spans with ``added_in <= k < removed_in`` and
``ordinal < ordinal_bound(k)``, read in ordinal order off one index.

Modules: ``schema`` (the one table registry and its life cycle), ``rows``
(what lookups return), ``apply`` (a commit into the tables), ``lookups``
(datasets, versions, datapoints, idempotency keys), ``spans`` (a version's
payloads), ``paging`` (where a page starts, without ``OFFSET``) and
``access`` (:class:`~datasetlog.readmodels.access.ReadModels`, all of them
for one store). Everything here can be dropped and rebuilt from the event
log (``DatasetLog.rebuild()``).
"""
