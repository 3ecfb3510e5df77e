"""The fast path for the common, plainly valid datapoint; property-tested against the strict one."""

from __future__ import annotations

import math

from datasetlog.models import ChatMessage, Role, assemble
from datasetlog.requests import DatapointRequest
from datasetlog.validation.limits import MAX_JSON_INT, MAX_STRING_LENGTH, MIN_JSON_INT
from datasetlog.validation.values import InvalidValueError, require_json

_DATAPOINT_KEYS = frozenset(("inputs", "messages", "target"))
_MESSAGE_KEYS = frozenset(("role", "content", "name"))
_ROLE_BY_VALUE = {role.value: role for role in Role}


def _plain_text(value: object) -> bool:
    return type(value) is str and value.isascii() and len(value) <= MAX_STRING_LENGTH


def fast_datapoint(body: object) -> DatapointRequest | None:
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
                if not MIN_JSON_INT <= value <= MAX_JSON_INT:
                    return None
            elif kind is not bool:
                try:
                    require_json(value, depth=1)
                except InvalidValueError:
                    return None
        target = dict(target)
    return DatapointRequest(inputs, messages, target)
