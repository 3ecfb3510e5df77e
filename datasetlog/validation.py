"""Request bodies to models, or one ValidationError naming every problem and where.

Limits (each exceeded one is a :class:`~datasetlog.errors.ValidationError` with
the ``type`` given here):

- ``MAX_DATAPOINTS_PER_REQUEST`` datapoints or log ids in one request (``too_many``);
- ``MAX_JSON_DEPTH`` levels of nesting inside a target value or tool-call
  arguments (``too_deep``);
- ``MAX_STRING_LENGTH`` characters in any one string (``too_long``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ForbiddenExtraKeysError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from datasetlog.errors import ErrorDetail, Loc, ValidationError
from datasetlog.models import (
    ChatMessage,
    DatapointRequest,
    Log,
    LogsRequest,
    Role,
    ToolCall,
    assemble,
)
from datasetlog.serialization import make_converter, type_is

MAX_DATAPOINTS_PER_REQUEST = 100_000
MAX_JSON_DEPTH = 32
MAX_STRING_LENGTH = 10_000_000
MAX_NAME_LENGTH = 256  # names, ids and keys are indexed: PostgreSQL caps an index row at 2,704 B
MAX_PAGE_SIZE = 1_000
MAX_PAGE = 2**53  # the largest integer every JSON reader keeps exactly
MIN_INT, MAX_INT = -(2**63), 2**64 - 1  # what orjson (and most JSON readers) can carry

_ROLES = ", ".join(role.value for role in Role)


class InvalidValueError(ValueError):
    """A value failed a check; ``path`` leads from the checked value to the bad part."""

    def __init__(self, msg: str, type: str, path: Loc = ()) -> None:
        super().__init__(msg)
        self.msg = msg
        self.type = type
        self.path = path


def _fail(msg: str, type: str, path: Loc = ()) -> NoReturn:
    raise InvalidValueError(msg, type, path)


def check_string(value: object, path: Loc = ()) -> str:
    """Return ``value`` if it is a storable string; otherwise raise InvalidValueError."""
    if type(value) is not str:
        _fail(f"expected a string, got {type(value).__name__}", "string_type", path)
    if len(value) > MAX_STRING_LENGTH:
        _fail(f"string longer than {MAX_STRING_LENGTH} characters", "too_long", path)
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            _fail("string is not valid Unicode (lone surrogate)", "string_unicode", path)
    return value


def check_json(value: object, path: Loc = (), depth: int = 0) -> Any:
    """Return ``value`` if it is plain, finite JSON within the nesting limit."""
    if depth > MAX_JSON_DEPTH:
        _fail(f"nested deeper than {MAX_JSON_DEPTH} levels", "too_deep", path)
    kind = type(value)
    if value is None or kind is bool:
        return value
    if isinstance(value, int) and kind is int:
        if not MIN_INT <= value <= MAX_INT:
            _fail("integer out of the 64-bit range JSON readers keep", "int_range", path)
        return value
    if isinstance(value, str) and kind is str:
        return check_string(value, path)
    if isinstance(value, float) and kind is float:
        if not math.isfinite(value):
            _fail("NaN and infinite numbers are not JSON", "finite_number", path)
        return value
    if isinstance(value, list) and kind is list:
        for index, item in enumerate(value):
            check_json(item, (*path, index), depth + 1)
        return value
    if isinstance(value, dict) and kind is dict:
        for key, item in value.items():
            check_string(key, (*path, key) if type(key) is str else path)
            check_json(item, (*path, key), depth + 1)
        return value
    _fail(f"{kind.__name__} is not a JSON value", "json_type", path)


def _check_mapping(value: object) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        _fail(f"expected an object, got {type(value).__name__}", "dict_type")
    return value


def _check_list(value: object) -> list[Any]:
    if not (isinstance(value, list) and type(value) is list):
        _fail(f"expected a list, got {type(value).__name__}", "list_type")
    return value


def _check_role(value: object, _: object) -> Role:
    try:
        return Role(value)  # type: ignore[arg-type]
    except ValueError:
        _fail(f"role must be one of {_ROLES}, got {value!r}", "enum")


StructureFn = Callable[[Any, Any], Any]


def _guarded(check: Callable[[object], object], structure: StructureFn) -> StructureFn:
    """Run ``check`` on the raw value before cattrs' own structuring function."""

    def hook(value: Any, cls: Any) -> Any:
        return structure(check(value), cls)

    return hook


def _strict_converter() -> cattrs.Converter:
    strict = make_converter().copy(detailed_validation=True, forbid_extra_keys=True)
    strict.register_structure_hook(str, lambda value, _: check_string(value))
    strict.register_structure_hook(Any, lambda value, _: check_json(value))
    strict.register_structure_hook(Role, _check_role)
    # Generated hooks capture the hooks of their parts when made: register the
    # parts first (mappings, then messages, then lists of them, then requests).
    mappings: tuple[Any, ...] = (dict[str, str], dict[str, Any])
    for mapping in mappings:
        strict.register_structure_hook_func(
            type_is(mapping), _guarded(_check_mapping, strict.gen_structure_mapping(mapping))
        )

    def register_class(cls: type[Any]) -> None:
        generated = make_dict_structure_fn(
            cls, strict, _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=True
        )
        strict.register_structure_hook(cls, _guarded(_check_mapping, generated))

    register_class(ToolCall)
    register_class(ChatMessage)
    lists: tuple[Any, ...] = (list[ChatMessage], list[str])
    for list_type in lists:
        strict.register_structure_hook_func(
            type_is(list_type), _guarded(_check_list, strict.get_structure_hook(list_type))
        )
    register_class(DatapointRequest)
    register_class(LogsRequest)
    register_class(Log)
    return strict


_strict = _strict_converter()


def _details(error: BaseException, loc: Loc) -> Iterator[ErrorDetail]:
    """Flatten cattrs' nested validation errors into v4 ``detail`` entries."""
    if isinstance(error, ForbiddenExtraKeysError):
        for key in sorted(error.extra_fields, key=repr):
            step = key if isinstance(key, str) else repr(key)
            yield ErrorDetail((*loc, step), f"unknown field {key!r}", "extra_forbidden")
    elif isinstance(error, BaseExceptionGroup):
        with_notes, without_notes = error.group_exceptions()  # type: ignore[attr-defined]
        for sub, note in with_notes:
            step = note.name if isinstance(note, AttributeValidationNote) else note.index
            if isinstance(note, IterableValidationNote | AttributeValidationNote):
                yield from _details(sub, (*loc, step))
        for sub in without_notes:
            yield from _details(sub, loc)
    elif isinstance(error, InvalidValueError):
        yield ErrorDetail((*loc, *error.path), error.msg, error.type)
    elif isinstance(error, KeyError):
        yield ErrorDetail(loc, "field required", "missing")
    else:
        yield ErrorDetail(loc, str(error), "value_error")


def _null_targets(body: object, loc: Loc) -> Iterator[ErrorDetail]:
    target = body.get("target") if isinstance(body, Mapping) else None
    if isinstance(target, Mapping):
        for key, value in target.items():
            if value is None:
                yield ErrorDetail(
                    (*loc, "target", key), "target values may not be null", "null_target"
                )


_DATAPOINT_KEYS = frozenset(("inputs", "messages", "target"))
_MESSAGE_KEYS = frozenset(("role", "content", "name"))
_ROLE_BY_VALUE = {role.value: role for role in Role}


def _plain_text(value: object) -> bool:
    return type(value) is str and value.isascii() and len(value) <= MAX_STRING_LENGTH


def _fast_datapoint(body: object) -> DatapointRequest | None:
    """Structure the common, plainly valid datapoint without cattrs' per-field dispatch.

    Returns None for anything unusual (non-ASCII text, tool calls, any doubt),
    which then takes the detailed cattrs path; for what it accepts it returns
    exactly what that path would.
    """
    if type(body) is not dict or not _DATAPOINT_KEYS.issuperset(body):
        return None
    inputs = body.get("inputs")
    if inputs is not None:
        if type(inputs) is not dict:
            return None
        for key, value in inputs.items():
            if type(key) is not str or type(value) is not str:
                return None
            if not (key.isascii() and value.isascii()):
                return None
            if len(key) > MAX_STRING_LENGTH or len(value) > MAX_STRING_LENGTH:
                return None
        inputs = dict(inputs)
    messages = body.get("messages")
    if messages is not None:
        if type(messages) is not list:
            return None
        structured = []
        for message in messages:
            if type(message) is not dict or not _MESSAGE_KEYS.issuperset(message):
                return None
            role_value = message.get("role")
            role = _ROLE_BY_VALUE.get(role_value) if type(role_value) is str else None
            content = message.get("content")
            name = message.get("name")
            if role is None or not (content is None or _plain_text(content)):
                return None
            if not (name is None or _plain_text(name)):
                return None
            fields = {"role": role, "content": content, "name": name, "tool_call": None}
            structured.append(assemble(ChatMessage, fields))  # every field checked above
        messages = structured
    target = body.get("target")
    if target is not None:
        if type(target) is not dict:
            return None
        for key, value in target.items():
            kind = type(value)
            if value is None or not _plain_text(key):
                return None
            if kind is str:
                if not _plain_text(value):
                    return None
            elif kind is float:
                if not math.isfinite(value):
                    return None
            elif kind is int:
                if not MIN_INT <= value <= MAX_INT:
                    return None
            elif kind is not bool:
                try:
                    check_json(value, depth=1)
                except InvalidValueError:
                    return None
        target = dict(target)
    return DatapointRequest(inputs, messages, target)


def _structure(body: object, cls: type[Any], loc: Loc) -> tuple[Any, list[ErrorDetail]]:
    if cls is DatapointRequest:
        fast = _fast_datapoint(body)
        if fast is not None:
            return fast, []
    try:
        value = _strict.structure(body, cls)
    except (cattrs.BaseValidationError, InvalidValueError) as error:
        return None, [*_details(error, loc), *_null_targets(body, loc)]
    return value, list(_null_targets(body, loc))


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


def _too_many(loc: Loc) -> ErrorDetail:
    return ErrorDetail(loc, f"at most {MAX_DATAPOINTS_PER_REQUEST} items per request", "too_many")


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


def require_text(
    value: object, loc: Loc, *, optional: bool = False, max_length: int = MAX_NAME_LENGTH
) -> list[ErrorDetail]:
    """Check a name-like field: a non-empty string (or ``None`` when optional).

    Names, descriptions, ids and keys are stored as text columns, which
    PostgreSQL cannot hold a NUL character in: they may not contain one on
    any backend. (Datapoint content is stored as JSON, where NUL is escaped.)
    """
    if value is None and optional:
        return []
    try:
        text = check_string(value)
    except InvalidValueError as error:
        return [ErrorDetail(loc, error.msg, error.type)]
    if not text.strip() and not optional:
        return [ErrorDetail(loc, "must not be empty", "string_too_short")]
    if len(text) > max_length:
        return [ErrorDetail(loc, f"longer than {max_length} characters", "too_long")]
    if "\x00" in text:
        return [ErrorDetail(loc, "must not contain a NUL character", "string_nul")]
    return []


def check_description(value: object, loc: Loc) -> list[ErrorDetail]:
    """Check a description: ``None`` or any storable string without NUL (not indexed)."""
    return require_text(value, loc, optional=True, max_length=MAX_STRING_LENGTH)


def require_id(value: object, loc: Loc) -> str:
    """Return ``value`` if it can be an id (a non-empty storable string).

    Raises:
        ValidationError: It is not.
    """
    errors = require_text(value, loc)
    if errors:
        raise ValidationError(errors)
    return value  # type: ignore[return-value]


def check_batch(batch: object) -> None:
    """Check a streaming batch size: an integer of at least 1."""
    if type(batch) is not int or batch < 1:
        raise ValidationError(
            [ErrorDetail(("query", "batch"), "batch must be an integer >= 1", "batch")]
        )


def check_page(page: object, size: object) -> None:
    """Check pagination arguments: ``page`` from 1, ``size`` from 1 to MAX_PAGE_SIZE."""
    errors = []
    if type(page) is not int or not 1 <= page <= MAX_PAGE:
        errors.append(
            ErrorDetail(("query", "page"), f"page must be an integer from 1 to {MAX_PAGE}", "page")
        )
    if type(size) is not int or not 1 <= size <= MAX_PAGE_SIZE:
        errors.append(
            ErrorDetail(
                ("query", "size"), f"size must be an integer from 1 to {MAX_PAGE_SIZE}", "size"
            )
        )
    if errors:
        raise ValidationError(errors)
