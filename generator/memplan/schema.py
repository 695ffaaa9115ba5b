"""The JSON Schema of a profile, rendered from rules.py for editors and other
tools (`memplan schema`; profiles/profile.schema.json is its output, and a
golden test keeps the two the same). Nothing here states a rule: every key,
range, choice and pattern comes from the rule tree."""

from __future__ import annotations

import json
from typing import Any, Dict, List

from memplan import PROFILE_SCHEMA, limits, rules
from memplan.model import AEADS

SCHEMA_ID = "https://memplan.invalid/profile.schema.json"


def _described(rendered: Dict[str, Any], description: str) -> Dict[str, Any]:
    return {"description": description, **rendered} if description else rendered


def _name(rule: rules.Name) -> Dict[str, Any]:
    shape: Dict[str, Any] = {"type": "string", "pattern": rule.pattern, "maxLength": rule.max_length or rules.MAX_NAME}
    refusals: List[Dict[str, Any]] = []
    if rule.refused:
        refusals.append({"not": {"enum": sorted(rule.refused)}})
    if rule.refused_pattern:
        refusals.append({"not": {"pattern": rule.refused_pattern}})
    return {**shape, "allOf": refusals} if refusals else shape


def render(rule: rules.Rule) -> Dict[str, Any]:
    """One rule as a JSON Schema 2020-12 subschema."""
    if isinstance(rule, rules.Constant):
        return _described({"type": "integer", "const": rule.value}, rule.description)
    if isinstance(rule, rules.Integer):
        shape: Dict[str, Any] = {"type": "integer", "minimum": rule.low, "maximum": rule.high}
        if rule.powers_of_two:
            shape["enum"] = [v for v in range(rule.low, rule.high + 1) if v & (v - 1) == 0]
        if rule.multiple > 1:
            shape["multipleOf"] = rule.multiple
        return _described(shape, rule.description)
    if isinstance(rule, rules.Size):
        number: Dict[str, Any] = {"type": "integer", "minimum": rule.low, "maximum": rule.high}
        if rule.multiple > 1:
            number["multipleOf"] = rule.multiple
        return _described({"anyOf": [number, {"$ref": "#/$defs/sizeString"}]}, rule.description)
    if isinstance(rule, rules.Choice):
        return _described({"enum": list(rule.choices)}, rule.description)
    if isinstance(rule, rules.Name):
        return _described(_name(rule), rule.description)
    if isinstance(rule, rules.Text):
        return _described({"type": "string", "pattern": rule.pattern}, rule.description)
    if isinstance(rule, rules.Boolean):
        return _described({"type": "boolean"}, rule.description)
    if isinstance(rule, rules.Mapping):
        return _described({
            "type": "object",
            "additionalProperties": False,
            "required": list(rule.required),
            "properties": {key: render(value) for key, value in rule.keys.items()},
        }, rule.description)
    if isinstance(rule, rules.MappingOf):
        shape = {"type": "object", "propertyNames": render(rule.key), "additionalProperties": render(rule.value)}
        if rule.min_entries:
            shape["minProperties"] = rule.min_entries
        return _described(shape, rule.description)
    if isinstance(rule, rules.ListOf):
        shape = {"type": "array", "items": render(rule.item), "minItems": rule.min_items}
        if rule.max_items is not None:
            shape["maxItems"] = rule.max_items
        if rule.unique:
            shape["uniqueItems"] = True
        return _described(shape, rule.description)
    raise TypeError(f"no JSON Schema for {rule!r}")


def _aead_shapes() -> Dict[str, Any]:
    """Per AEAD family: its tags, and per nonce length and counter width the fixed field that
    completes the nonce and the messages and reservation the counter bounds."""
    families = []
    for family_name, family in rules.FAMILIES.items():
        shapes = []
        for nonce in family.nonce_sizes:
            for counter in rules.NONCE_COUNTER_SIZES:
                if counter > nonce:
                    continue
                values = rules.counter_max(counter)
                shapes.append({
                    "properties": {
                        "nonce": {"properties": {
                            "fixed_size": {"const": nonce - counter},
                            "counter_size": {"const": counter},
                            "reserve": {"maximum": min(values, limits.NONCE_RESERVE_MAX.value)},
                        }},
                        "rotation": {"properties": {"max_messages": {"maximum": values}}},
                    }
                })
        aeads = [name for name, aead in AEADS.items() if aead.family == family_name]
        families.append({
            "properties": {"aead": {"enum": aeads}, "tag_size": {"enum": list(family.tag_sizes)}},
            "anyOf": shapes,
        })
    return {"anyOf": families}


def document() -> Dict[str, Any]:
    """The whole schema."""
    profile = render(rules.PROFILE)
    profile["properties"]["crypto"].update(_aead_shapes())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"memplan profile, schema {PROFILE_SCHEMA}",
        "description": (
            "A firmware product's RAM plan for cryptography. Generated by `memplan schema` from "
            "generator/memplan/rules.py, the rules the generator validates a profile with. Checked by the "
            "generator only: " + "; ".join(rules.CROSS_CHECKS) + "."
        ),
        **profile,
        "$defs": {
            "sizeString": {
                "description": "Bytes with an optional unit.",
                "type": "string",
                "pattern": rules.SIZE_PATTERN,
            },
        },
    }


def text() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=True) + "\n"
