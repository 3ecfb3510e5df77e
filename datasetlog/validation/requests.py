"""Request bodies to request models: one datapoint, a list of them, logs, or update fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from datasetlog.errors import ErrorDetail, Loc, ValidationError
from datasetlog.models import Log
from datasetlog.requests import DatapointRequest, LogsRequest
from datasetlog.validation.fast import fast_datapoint
from datasetlog.validation.limits import MAX_DATAPOINTS_PER_REQUEST
from datasetlog.validation.strict import structure_strictly


def _structure(body: object, cls: type[Any], loc: Loc) -> tuple[Any, list[ErrorDetail]]:
    if cls is DatapointRequest:
        fast = fast_datapoint(body)
        if fast is not None:
            return fast, []
    return structure_strictly(body, cls, loc)


def _unstructure_request(body: object) -> object:
    """Turn request objects into plain data, following what they hold at run time.

    Request objects may hold anything (type hints are not checked when they
    are made), so they are taken apart by their values' own types and then
    validated exactly like JSON bodies. Only attrs objects, lists holding them
    and a body's fields are taken apart: JSON values stay as they are, however deep.
    """
    if attrs.has(type(body)):
        fields = attrs.asdict(body, recurse=False)  # type: ignore[arg-type]
        return {name: _unstructure_request(value) for name, value in fields.items()}
    if type(body) is list and any(attrs.has(type(item)) for item in body):
        return [_unstructure_request(item) for item in body]
    if type(body) is dict and any(type(v) is list or attrs.has(type(v)) for v in body.values()):
        return {key: _unstructure_request(value) for key, value in body.items()}
    return body


def _too_many(loc: Loc) -> ErrorDetail:
    return ErrorDetail(loc, f"at most {MAX_DATAPOINTS_PER_REQUEST} items per request", "too_many")


def parse_create_request(body: object) -> list[DatapointRequest] | LogsRequest:
    """Read a create-datapoint body: one datapoint, a list of them, or ``{"log_ids": [...]}``.

    Raises:
        ValidationError: Listing every problem, with ``loc`` paths under ``"body"``.
    """
    body = _unstructure_request(list(body) if type(body) is tuple else body)
    if isinstance(body, Mapping) and "log_ids" in body:
        request, errors = _structure(body, LogsRequest, ("body",))
        if not errors and not request.log_ids:
            errors = [ErrorDetail(("body", "log_ids"), "give at least one log id", "empty_list")]
        if not errors and len(request.log_ids) > MAX_DATAPOINTS_PER_REQUEST:
            errors = [_too_many(("body", "log_ids"))]
        if errors:
            raise ValidationError(errors)
        return request  # type: ignore[no-any-return]
    if isinstance(body, Mapping):
        datapoint, errors = _structure(body, DatapointRequest, ("body",))
        if errors:
            raise ValidationError(errors)
        return [datapoint]
    if isinstance(body, list):
        if not body:
            raise ValidationError(
                [ErrorDetail(("body",), "give at least one datapoint", "empty_list")]
            )
        if len(body) > MAX_DATAPOINTS_PER_REQUEST:
            raise ValidationError([_too_many(("body",))])
        datapoints, errors = [], []
        for index, item in enumerate(body):
            datapoint, item_errors = _structure(item, DatapointRequest, ("body", index))
            datapoints.append(datapoint)
            errors.extend(item_errors)
        if errors:
            raise ValidationError(errors)
        return datapoints
    raise ValidationError(
        [
            ErrorDetail(
                ("body",),
                "expected a datapoint object, a list of them, or {'log_ids': [...]}",
                "body_type",
            )
        ]
    )


def datapoint_items(body: object) -> tuple[list[object], bool]:
    """A body of datapoint objects as plain items, unchecked, and whether it was one object.

    For callers that check some items their own way (an upsert matches items
    equal to stored content); :func:`parse_items` checks the others. A list
    may be empty.

    Raises:
        ValidationError: The body is ``{"log_ids": ...}``, too long, or neither
            a datapoint object nor a list.
    """
    body = _unstructure_request(list(body) if type(body) is tuple else body)
    if isinstance(body, Mapping):
        if "log_ids" in body:
            raise ValidationError(
                [ErrorDetail(("body", "log_ids"), "give datapoints, not log ids", "log_ids")]
            )
        return [body], True
    if isinstance(body, list):
        if len(body) > MAX_DATAPOINTS_PER_REQUEST:
            raise ValidationError([_too_many(("body",))])
        return body, False
    raise ValidationError(
        [ErrorDetail(("body",), "expected a datapoint object or a list of them", "body_type")]
    )


def parse_items(items: list[tuple[int, object]], *, single: bool) -> list[DatapointRequest]:
    """Validate datapoint items given with their index in the body (see :func:`datapoint_items`).

    Raises:
        ValidationError: Listing every problem, at ``("body", index, ...)``
            (``("body", ...)`` for a single object).
    """
    datapoints, errors = [], []
    for index, item in items:
        loc: Loc = ("body",) if single else ("body", index)
        datapoint, item_errors = _structure(item, DatapointRequest, loc)
        datapoints.append(datapoint)
        errors.extend(item_errors)
    if errors:
        raise ValidationError(errors)
    return datapoints


def parse_datapoint_fields(fields: Mapping[str, object], loc: Loc) -> DatapointRequest:
    """Validate datapoint content fields (as for an update) given as a mapping.

    Raises:
        ValidationError: Listing every problem.
    """
    datapoint, errors = _structure(_unstructure_request(dict(fields)), DatapointRequest, loc)
    if errors:
        raise ValidationError(errors)
    return datapoint  # type: ignore[no-any-return]


def parse_log(data: object, loc: Loc = ("body",)) -> Log:
    """Validate a log given as v4-shaped data (``id``, ``inputs``, ``messages``, ``output``).

    Raises:
        ValidationError: Listing every problem.
    """
    log, errors = _structure(_unstructure_request(data), Log, loc)
    if errors:
        raise ValidationError(errors)
    return log  # type: ignore[no-any-return]
