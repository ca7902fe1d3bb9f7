"""Slack's documented Web API methods (slack_spec/*.json): loading and argument checks.

The files come from slack-ruby/slack-api-ref (MIT, see slack_spec/LICENSE). Each lists a
method's arguments (required flag, type, json format) and the error strings it can answer.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SPEC_DIR = Path(__file__).parent / "slack_spec"

# Slack's generic answer for malformed arguments on newer methods; not in every error list.
INVALID_ARGUMENTS = "invalid_arguments"

_TS = re.compile(r"^\d+(\.\d+)?$")
_TRUE = {"1", "true", "True", "TRUE"}
_FALSE = {"0", "false", "False", "FALSE", ""}


class ApiError(Exception):
    """A Web API refusal: answered as {"ok": false, "error": ..., ...}."""

    def __init__(self, error: str, messages: list[str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


@dataclass(frozen=True)
class ArgSpec:
    name: str
    required: bool
    types: tuple[str, ...]
    format: str | None = None


@dataclass(frozen=True)
class MethodSpec:
    name: str
    args: dict[str, ArgSpec]
    errors: frozenset[str]
    arg_groups: tuple[dict[str, Any], ...] = field(default=())

    def first_documented(self, *candidates: str) -> str | None:
        return next((c for c in candidates if c in self.errors), None)


def load_specs(spec_dir: Path | None = None) -> dict[str, MethodSpec]:
    specs: dict[str, MethodSpec] = {}
    for path in sorted((spec_dir or DEFAULT_SPEC_DIR).glob("*.json")):
        raw = json.loads(path.read_text())
        args = {}
        for name, a in raw.get("args", {}).items():
            kind = a.get("type")
            types = tuple(kind) if isinstance(kind, list) else ((kind,) if kind else ())
            args[name] = ArgSpec(name, bool(a.get("required")), types, a.get("format"))
        specs[raw["name"]] = MethodSpec(
            raw["name"], args, frozenset(raw.get("errors", {})), tuple(raw.get("arg_groups", ()))
        )
    return specs


def is_present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def validate_args(spec: MethodSpec, raw: dict[str, Any]) -> dict[str, Any]:
    """Check required args and types; return args with booleans, numbers and JSON decoded."""
    args = dict(raw)
    for arg in spec.args.values():
        value = args.get(arg.name)
        if value is None or value == "":
            if arg.required:
                raise _missing(spec, arg)
            args.pop(arg.name, None)
            continue
        args[arg.name] = _convert(spec, arg, value)
        if arg.required and not is_present(args[arg.name]):
            raise _missing(spec, arg)
    _check_groups(spec, args)
    return args


def _missing(spec: MethodSpec, arg: ArgSpec) -> ApiError:
    by_kind = {
        "channel": ("channel_not_found",),
        "user": ("user_not_found",),
        "timestamp": ("message_not_found", "thread_not_found"),
    }
    candidates = [e for t in arg.types for e in by_kind.get(t, ())]
    error = spec.first_documented(*candidates, "missing_argument")
    if error:
        return ApiError(error)
    return ApiError(INVALID_ARGUMENTS, [f"[ERROR] missing required field: {arg.name}"])


def _invalid(spec: MethodSpec, arg: ArgSpec, why: str, *candidates: str) -> ApiError:
    error = spec.first_documented(*candidates)
    if error:
        return ApiError(error)
    return ApiError(INVALID_ARGUMENTS, [f"[ERROR] {why} [json-pointer:/{arg.name}]"])


def _convert(spec: MethodSpec, arg: ArgSpec, value: Any) -> Any:
    types = set(arg.types)
    if arg.format == "json":
        return _decode_json(spec, arg, value)
    if types == {"boolean"}:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value in _TRUE | _FALSE:
            return value in _TRUE
        raise _invalid(spec, arg, "expected a boolean", f"invalid_{arg.name}")
    if types & {"number", "integer"}:
        try:
            number = float(value) if not isinstance(value, bool) else float("nan")
        except (TypeError, ValueError):
            number = float("nan")
        if not math.isfinite(number) or ("integer" in types and number != int(number)):
            raise _invalid(spec, arg, "expected a number", f"invalid_{arg.name}")
        return int(number) if number == int(number) else number
    if "array" in types:
        return _decode_array(spec, arg, value)
    if "timestamp" in types:
        if not isinstance(value, str | int | float) or not _TS.match(str(value)):
            raise _invalid(
                spec,
                arg,
                "expected a timestamp",
                f"invalid_ts_{arg.name}",
                "message_not_found",
                "thread_not_found",
            )
        return str(value)
    if types & {"string", "channel", "user"} and not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise _invalid(spec, arg, "expected a string", f"invalid_{arg.name}")
    return value


def _decode_json(spec: MethodSpec, arg: ArgSpec, value: Any) -> Any:
    candidates = (f"invalid_{arg.name}_format", f"invalid_{arg.name}")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _invalid(spec, arg, "invalid JSON", *candidates) from None
    if arg.name in ("blocks", "attachments") and not (
        isinstance(value, list) and all(isinstance(item, dict) for item in value)
    ):
        raise _invalid(spec, arg, "must be an array of objects", *candidates)
    if arg.name in ("view", "metadata") and not isinstance(value, dict):
        raise _invalid(spec, arg, "must be an object", *candidates)
    return value


def _decode_array(spec: MethodSpec, arg: ArgSpec, value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(decoded, list):
            return decoded
    raise _invalid(spec, arg, "expected an array", f"invalid_{arg.name}", "invalid_array_arg")


def _check_groups(spec: MethodSpec, args: dict[str, Any]) -> None:
    for group in spec.arg_groups:
        names = group.get("args", [])
        present = [n for n in names if is_present(args.get(n))]
        if group.get("mutually_exclusive") and len(present) > 1:
            error = spec.first_documented(f"{present[-1]}_conflict") or INVALID_ARGUMENTS
            raise ApiError(
                error,
                [] if error != INVALID_ARGUMENTS else [f"[ERROR] use only one of: {names}"],
            )
        if group.get("required", True) and not present:
            if spec.first_documented("no_text"):
                raise ApiError("no_text")
            raise ApiError(
                INVALID_ARGUMENTS, [f"[ERROR] missing required field: one of {', '.join(names)}"]
            )
