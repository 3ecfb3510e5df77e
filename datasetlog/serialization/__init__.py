"""Serialization: the one cattrs converter (``converter``), the event codec (``codec``),
v4 rendering (``v4``) and the hot decoder of stored datapoints (``decode``)."""
