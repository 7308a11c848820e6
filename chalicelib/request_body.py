"""A request's body and query as a route takes them: JSON parsed within the size limit (no NaN or Infinity), then
validated into the route's pydantic model, every failure a problem the client can act on (400, 413, 422 with
``errors`` [{``loc``, ``msg``, ``type``}])."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from chalicelib.errors import InvalidJson, PayloadTooLarge, ValidationFailed

__all__ = ["media_type", "parse_json", "validate"]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# What ``json.loads(raw, parse_constant=_reject_constant)`` builds on every call, once.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _loads(raw: bytes | str) -> Any:
    """``json.loads(raw, parse_constant=_reject_constant)``: the same text decoded, the same errors."""
    if isinstance(raw, str):
        if raw.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", raw, 0)
        return _decoded(raw)
    # An object's "{" then a byte that is not 0 is what ``json.detect_encoding`` answers UTF-8 for (no BOM, no
    # UTF-16/32): a body as clients send it, without its checks.
    utf8 = raw[:1] == b"{" and raw[1:2] != b"\x00"
    return _decoded(raw.decode("utf-8" if utf8 else json.detect_encoding(raw), "surrogatepass"))


def _decoded(text: str) -> Any:
    """``_DECODER.decode(text)``. An object with nothing before or after it is scanned at once: around its scan
    ``decode`` only skips whitespace and checks that nothing follows. Anything else, or any failure (then raised
    as ``decode`` raises it), goes through ``decode``."""
    if text[:1] == "{" and text[-1:] == "}":
        try:
            value, end = _SCAN(text, 0)
        except (StopIteration, ValueError):
            return _DECODER.decode(text)
        if end == len(text):
            return value
    return _DECODER.decode(text)


_MEDIA_MAX = 64
_medias: dict[str, str] = {}  # Content-Type as sent -> its media type (a pure function of the text; bounded)


def media_type(content_type: str | None) -> str:
    """The media type a Content-Type names, lower case, without its parameters (none sent: ``application/json``)."""
    if not content_type:
        return "application/json"
    media = _medias.get(content_type)
    if media is None:
        media = content_type.lower().split(";")[0].strip()
        if len(_medias) >= _MEDIA_MAX:
            _medias.clear()
        _medias[content_type] = media
    return media


def parse_json(raw: bytes | str | None, max_bytes: int) -> Any:
    if raw is None or raw == b"":
        return {}
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"The body is {len(raw)} bytes; the limit is {max_bytes}.")
    try:
        return _loads(raw)
    except RecursionError as exc:
        raise InvalidJson("The JSON is nested too deeply.") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJson(f"The body is not valid JSON: {exc}") from exc


def _validation_errors(exc: ValidationError, where: str) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = [where, *[p for p in err["loc"] if p != "__root__"]]
        msg = str(err["msg"]).removeprefix("Value error, ")
        out.append({"loc": loc, "msg": msg, "type": err["type"]})
    return out


def validate(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    if where == "body" and not isinstance(data, dict):
        raise ValidationFailed.at(["body"], "the body must be a JSON object", "object_type")
    try:
        return model.__pydantic_validator__.validate_python(data)  # type: ignore[no-any-return]  # model_validate's
    except ValidationError as exc:
        raise ValidationFailed(_validation_errors(exc, where)) from exc
