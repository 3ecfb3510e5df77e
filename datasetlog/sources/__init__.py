"""Log sources: where ``create_datapoint(..., {"log_ids": [...]})`` finds its logs.

``base`` (the :class:`LogSource` protocol), ``memory`` (:class:`DictLogSource`)
and ``sqlite`` (:class:`SQLiteLogSource`).
"""
