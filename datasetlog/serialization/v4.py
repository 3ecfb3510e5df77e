"""Results in the v4 JSON shape: rendered from objects, or copied from stored JSON."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Any

import orjson

from datasetlog.errors import DatasetLogError, ValidationError
from datasetlog.serialization.converter import converter
from datasetlog.serialization.decode import Inherited, corrupt, inherited_id


def to_v4(value: Any) -> Any:
    """Render a result, a list of results or an error as v4 JSON data.

    The result holds only JSON types (dicts, lists, strings, numbers, booleans,
    null) and matches the v4 response shapes: date-times are ISO-8601 with
    their offset and unset optional fields are omitted. A
    :class:`ValidationError` is the 422 body ``{"detail": [{loc, msg, type}]}``,
    any other :class:`DatasetLogError` ``{"detail": "its message"}``; answer it
    with the error's ``status_code``.

    Changed in 0.1: renders every DatasetLogError.
    """
    if isinstance(value, ValidationError):
        return {
            "detail": [{"loc": list(d.loc), "msg": d.msg, "type": d.type} for d in value.details]
        }
    if isinstance(value, DatasetLogError):
        return {"detail": str(value)}
    return converter.unstructure(value)


def to_v4_json(value: Any) -> bytes:
    """Render like :func:`to_v4`, as compact UTF-8 JSON bytes."""
    return orjson.dumps(to_v4(value))


def v4_dicts(
    dataset_id: str, chunks: Iterable[Iterable[str | bytes]]
) -> Generator[dict[str, Any], None, None]:
    """Decode stored datapoint payloads into v4 dicts of a dataset, skipping model objects."""
    loads, read, payload = orjson.loads, 0, None
    try:
        for chunk in chunks:
            suffix = chunk.suffix if type(chunk) is Inherited else None
            for payload in chunk:
                data = loads(payload)
                data["dataset_id"] = dataset_id
                if suffix is not None:
                    data["id"] = inherited_id(data["id"], suffix)
                read += 1
                yield data
    except DatasetLogError:
        raise
    except Exception as error:  # a stored row that no longer decodes: the store is damaged
        raise corrupt(dataset_id, read, payload, error) from error


def v4_json_array(dataset_id: str, chunks: Iterable[list[bytes]]) -> Generator[bytes, None, None]:
    """Render stored datapoint payloads as one v4 JSON array, piece by piece, without decoding.

    A datapoint event's payload is the datapoint's v4 JSON object without its
    ``dataset_id``, so each is copied with ``"dataset_id"`` spliced in as its
    first key. The pieces joined parse to the same value as ``to_v4_json`` of
    the decoded datapoints; one piece per non-empty chunk, the last one
    closing the array.
    """
    head = b'{"dataset_id":' + orjson.dumps(dataset_id) + b","
    separator = b"," + head
    opening = b"[" + head
    for chunk in chunks:
        if not chunk:
            continue
        if type(chunk) is Inherited:
            yield _inherited_array(opening, separator, chunk)
        else:
            yield opening + separator.join([payload[1:] for payload in chunk])
        opening = separator
    yield b"[]" if opening[0] == ord("[") else b"]"


def v4_json_lines(dataset_id: str, chunks: Iterable[list[bytes]]) -> Generator[bytes, None, None]:
    """Render stored datapoint payloads as v4 JSON Lines, a piece per non-empty chunk.

    Each line is what :func:`v4_json_array` puts in the array for that
    datapoint, then a newline: the stored JSON copied, ``dataset_id`` spliced in.
    """
    head = b'{"dataset_id":' + orjson.dumps(dataset_id) + b","
    separator = b"\n" + head
    for chunk in chunks:
        if not chunk:
            continue
        if type(chunk) is Inherited:
            yield _inherited_array(head, separator, chunk) + b"\n"
        else:
            yield head + separator.join([payload[1:] for payload in chunk]) + b"\n"


def _inherited_array(opening: bytes, separator: bytes, chunk: Inherited) -> bytes:
    """Like a chunk of :func:`v4_json_array`, each id cut at its root and given the suffix.

    Pieces are memoryviews of the stored JSON, so each byte is copied once, by the join.
    """
    suffix = chunk.suffix.encode()
    parts: list[bytes | memoryview] = []
    lead = opening
    for payload in chunk:
        end = payload.index(b'"', 7)
        cut = payload.find(b".", 7, end)
        view = memoryview(payload)
        parts += (lead, view[1 : end if cut < 0 else cut], suffix, view[end:])
        lead = separator
    return b"".join(parts)


def v4_json_page(
    records: bytes, *, page: int, size: int, total: int, version: dict[str, Any]
) -> bytes:
    """Render a v4 page of datapoints around its records (from :func:`v4_json_array`).

    ``version`` is the version read, rendered.
    """
    fields = orjson.dumps({"page": page, "size": size, "total": total, "version": version})
    return b'{"records":' + records + b"," + fields[1:]
