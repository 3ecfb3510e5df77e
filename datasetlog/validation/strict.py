"""The detailed path: a strict cattrs converter, and its errors flattened to v4 ``loc`` lists."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ForbiddenExtraKeysError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from datasetlog.errors import ErrorDetail, Loc
from datasetlog.models import ChatMessage, Log, Role, ToolCall
from datasetlog.requests import DatapointRequest, LogsRequest
from datasetlog.serialization.converter import make_converter, type_is
from datasetlog.validation.values import InvalidValueError, fail, require_json, require_string

_ROLES = ", ".join(role.value for role in Role)
StructureFn = Callable[[Any, Any], Any]


def _require_mapping(value: object) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        fail(f"expected an object, got {type(value).__name__}", "dict_type")
    return value


def _require_list(value: object) -> list[Any]:
    if not (isinstance(value, list) and type(value) is list):
        fail(f"expected a list, got {type(value).__name__}", "list_type")
    return value


def _require_role(value: object, _: object) -> Role:
    try:
        return Role(value)  # type: ignore[arg-type]
    except ValueError:
        fail(f"role must be one of {_ROLES}, got {value!r}", "enum")


def _guarded(check: Callable[[object], object], structure: StructureFn) -> StructureFn:
    """Run ``check`` on the raw value before cattrs' own structuring function."""

    def hook(value: Any, cls: Any) -> Any:
        return structure(check(value), cls)

    return hook


def _strict_converter() -> cattrs.Converter:
    strict = make_converter().copy(detailed_validation=True, forbid_extra_keys=True)
    strict.register_structure_hook(str, lambda value, _: require_string(value))
    strict.register_structure_hook(Any, lambda value, _: require_json(value))
    strict.register_structure_hook(Role, _require_role)
    # Generated hooks capture the hooks of their parts when made: register the
    # parts first (mappings, then messages, then lists of them, then requests).
    mappings: tuple[Any, ...] = (dict[str, str], dict[str, Any])
    for mapping in mappings:
        strict.register_structure_hook_func(
            type_is(mapping), _guarded(_require_mapping, strict.gen_structure_mapping(mapping))
        )

    def register_class(cls: type[Any]) -> None:
        generated = make_dict_structure_fn(
            cls, strict, _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=True
        )
        strict.register_structure_hook(cls, _guarded(_require_mapping, generated))

    register_class(ToolCall)
    register_class(ChatMessage)
    lists: tuple[Any, ...] = (list[ChatMessage], list[str])
    for list_type in lists:
        strict.register_structure_hook_func(
            type_is(list_type), _guarded(_require_list, strict.get_structure_hook(list_type))
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


def _null_target_problems(body: object, loc: Loc) -> Iterator[ErrorDetail]:
    target = body.get("target") if isinstance(body, Mapping) else None
    if isinstance(target, Mapping):
        for key, value in target.items():
            if value is None:
                yield ErrorDetail(
                    (*loc, "target", key), "target values may not be null", "null_target"
                )


def structure_strictly(body: object, cls: type[Any], loc: Loc) -> tuple[Any, list[ErrorDetail]]:
    """Structure ``body`` as ``cls``; return the value (None on failure) and every problem."""
    try:
        value = _strict.structure(body, cls)
    except (cattrs.BaseValidationError, InvalidValueError) as error:
        return None, [*_details(error, loc), *_null_target_problems(body, loc)]
    return value, list(_null_target_problems(body, loc))
