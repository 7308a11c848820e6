"""Answer models a write builds from values already of their fields' types: ``model_construct`` without its walk
over every field (aliases, defaults, extras), which costs more than the rest of building an answer."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__
# model -> its field names in order, or None when ``model_construct`` does more than store the values
_names: dict[type[BaseModel], tuple[str, ...] | None] = {}


def _field_names(model: type[BaseModel]) -> tuple[str, ...] | None:
    """The model's field names, if ``model_construct`` would do nothing but store the values: no aliases, no private
    attributes, no ``model_post_init``, extras ignored or forbidden, not a root model."""
    if model not in _names:
        fields = model.__pydantic_fields__
        plain = (
            not any(f.alias is not None or f.validation_alias is not None for f in fields.values())
            and not model.__private_attributes__
            and model.__pydantic_post_init__ is None
            and model.model_config.get("extra") != "allow"
            and not model.__pydantic_root_model__
        )
        _names[model] = tuple(fields) if plain else None
    return _names[model]


def built(model: type[M], **values: Any) -> M:
    """``model.model_construct(**values)``, for values each already of its field's type; when they name every field
    of ``model`` in its order and nothing else, without the walk. tests/test_hot_path_copies.py holds the two
    equal."""
    if tuple(values) != _field_names(model):
        return model.model_construct(**values)
    m = model.__new__(model)
    _set(m, "__dict__", values)
    _set(m, "__pydantic_fields_set__", set(values))
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m


def json_of(model: BaseModel) -> str:
    """``model.model_dump_json()``: its serializer's ``to_json`` with the same (default) options, without the
    wrapper's fifteen keywords passed on (a third of the call). tests/test_hot_path_copies.py holds the two equal."""
    return model.__pydantic_serializer__.to_json(model).decode()
