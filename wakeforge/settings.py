"""Typed values for nested ``--config`` overrides.

Snakemake parses a top-level ``--config key=value`` as an int, float or bool where it can, but the
values inside a nested one (``--config 'train={"steps": 100}'``) are read by YAML's base loader,
which keeps every scalar a string; the schema then rejects ``'100'`` as not an integer. Here each
string that stands where the schema wants a boolean, integer or number (or null) is read as YAML
and replaced when the result has a type the schema allows. Strings the schema wants stay strings,
so a phrase such as ``"1234"`` is never turned into a number.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from os import PathLike

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

_TYPES = {
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def _type_errors(errors) -> Iterator[ValidationError]:
    """Every ``type`` error, including those inside ``oneOf``/``anyOf`` alternatives."""
    for error in errors:
        if error.validator == "type":
            yield error
        yield from _type_errors(error.context or ())


def _typed(value: str, allowed) -> tuple[bool, object]:
    """``value`` read as the first of int, float, YAML that gives a type in ``allowed``
    (float first for numbers: YAML 1.1 reads ``5e-4`` as a string)."""
    allowed = [allowed] if isinstance(allowed, str) else list(allowed)
    for parse in (int, float, yaml.safe_load):
        try:
            parsed = parse(value)
        except (ValueError, yaml.YAMLError):
            continue
        if any(_TYPES.get(t, lambda v: False)(parsed) for t in allowed):
            return True, parsed
    return False, value


def coerce_strings(config: MutableMapping, schema: dict) -> list[str]:
    """Replace, in place, strings where ``schema`` wants another scalar type by their YAML value
    (``'100'`` -> 100, ``'true'`` -> True, ``'0.5'`` -> 0.5). Returns the dotted keys changed."""
    changed: list[str] = []
    for error in list(_type_errors(Draft202012Validator(schema).iter_errors(config))):  # before any change
        path = list(error.absolute_path)
        if not path or not isinstance(error.instance, str):
            continue
        parent = config
        for part in path[:-1]:
            parent = parent[part]
        ok, value = _typed(error.instance, error.validator_value)
        # two oneOf alternatives may report the same value: the first fix wins
        if ok and parent[path[-1]] is error.instance:
            parent[path[-1]] = value
            changed.append(".".join(map(str, path)))
    return changed


def coerce_config_file(config: MutableMapping, schema_path: str | PathLike) -> list[str]:
    """:func:`coerce_strings` with the schema read from a YAML file."""
    with open(schema_path) as fh:
        return coerce_strings(config, yaml.safe_load(fh))
