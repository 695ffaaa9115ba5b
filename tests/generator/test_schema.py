"""The JSON Schema is rendered from the validator's rules (rules.py, schema.py):
the committed profiles/profile.schema.json is exactly that output, it is a
valid 2020-12 schema, and the schema and the validator agree on every shipped
profile and on mutations of each rule at and past its bounds (Debian's
python3-jsonschema evaluates the schema)."""

from __future__ import annotations

import copy
import json
from typing import Any, Iterator, List, Tuple

import jsonschema
import pytest
import yaml

from conftest import REPO, SHIPPED, VALID_PROFILE
from memplan import rules
from memplan.diagnostics import ProfileError
from memplan.loader import load_text
from memplan.schema import document, text
from memplan.validator import validate

SCHEMA_PATH = REPO / "profiles" / "profile.schema.json"


@pytest.fixture(scope="module")
def checker() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_the_rendered_one() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == text(), (
        "profiles/profile.schema.json differs from the rules: regenerate it with\n"
        "  PYTHONPATH=generator python3 -m memplan schema > profiles/profile.schema.json")


def test_memplan_schema_prints_it(cli) -> None:
    run = cli("schema")
    assert run.code == 0 and json.loads(run.out) == document()


# The validator's messages for what only it checks (rules.CROSS_CHECKS): a mutation that
# breaks one of these and nothing else is a profile the schema rightly lets through.
CROSS_CHECK_WORDS = ("is larger than region", "unknown region", "needs a budget", "generates the", "pool needs blocks",
                     "tables; remove this key", "ends past the 4 GiB", "overlaps target.")


def _accepted_by_validator(profile: Any) -> bool:
    """Whether the validator finds nothing wrong with the profile's shape."""
    try:
        validate(load_text(yaml.safe_dump(profile, sort_keys=False), "mutated.yaml"), "mutated.yaml")
    except ProfileError as exc:
        return all(any(word in d.message for word in CROSS_CHECK_WORDS) for d in exc.diagnostics)
    return True


@pytest.mark.parametrize("path", [REPO / "profiles" / f"{n}.yaml" for n in SHIPPED] + [REPO / "tests" / "runtime" / "at_the_limits.yaml"],
                         ids=[*SHIPPED, "at_the_limits"])
def test_valid_profiles_are_valid_under_the_schema(checker: jsonschema.Draft202012Validator, path) -> None:
    assert list(checker.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))) == []


BASE = yaml.safe_load(VALID_PROFILE)


def _leaves(rule: rules.Rule, path: List[Any]) -> Iterator[Tuple[List[Any], rules.Rule]]:
    """Every rule of the base profile with the path to its value (a list's first item, a mapping's first key)."""
    yield path, rule
    if isinstance(rule, rules.Mapping):
        for key, value in rule.keys.items():
            yield from _leaves(value, [*path, key])
    elif isinstance(rule, rules.MappingOf):
        yield from _leaves(rule.value, [*path, "sram"])
    elif isinstance(rule, rules.ListOf):
        yield from _leaves(rule.item, [*path, 0])


def _values(rule: rules.Rule) -> List[Any]:
    """Values at and just past the rule's bounds, and of the wrong kind. References between keys
    and size strings' ranges are the validator's alone (rules.CROSS_CHECKS): not mutated here."""
    wrong = ["text", 1.5, True, None, [1], {"a": 1}]
    if isinstance(rule, rules.Integer):
        return [rule.low - 1, rule.low, rule.high, rule.high + 1, *wrong]
    if isinstance(rule, rules.Size):
        return [rule.low - rule.multiple, rule.low, rule.high, rule.high + rule.multiple, rule.low + 1, "2 parsecs", *wrong[1:]]
    if isinstance(rule, rules.Choice):
        return [*rule.choices, "none-of-them", *wrong]
    if isinstance(rule, rules.Name) and rule is not rules.REGION_REFERENCE and rule is not rules.REGION_NAME:
        return ["fresh_name", "Capital", "two-words", "x" * (rules.MAX_NAME + 1), "class", "errno", "__mine", 7]
    if isinstance(rule, rules.Text):
        return ["one line", "two\nlines", "tab\there", 7]
    if isinstance(rule, rules.Boolean):
        return [True, False, "yes", 1]
    if isinstance(rule, rules.Constant):
        return [rule.value, rule.value + 1, str(rule.value)]
    return []


def _set(profile: Any, path: List[Any], value: Any) -> Any:
    mutated = copy.deepcopy(profile)
    node = mutated
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]  # optional mappings appear
    node[path[-1]] = value
    return mutated


def _mutations() -> List[Tuple[str, Any]]:
    cases: List[Tuple[str, Any]] = []
    for path, rule in _leaves(rules.PROFILE, []):
        if not path:
            continue
        label = ".".join(str(p) for p in path)
        cases += [(f"{label}={value!r}", _set(BASE, path, value)) for value in _values(rule)]
        if isinstance(rule, rules.Mapping):
            cases.append((f"{label}+unknown", _set(BASE, [*path, "unknown_key"], 1)))
            for key in rule.required:
                parent = copy.deepcopy(BASE)
                node = parent
                for part in path:
                    node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]
                node.pop(key, None)
                cases.append((f"{label}-{key}", parent))
        if isinstance(rule, rules.ListOf):
            cases.append((f"{label}=[]", _set(BASE, path, [])))
    # The nonce's cross-field rules: every counter width with its fixed field and limits.
    for counter in rules.NONCE_COUNTER_SIZES:
        for fixed in (12 - counter, 13 - counter):
            for messages in (rules.counter_max(counter), rules.counter_max(counter) + 1):
                mutated = _set(_set(BASE, ["crypto", "nonce", "fixed_size"], fixed), ["crypto", "nonce", "counter_size"], counter)
                cases.append((f"nonce {fixed}+{counter}, {messages} messages", _set(mutated, ["crypto", "rotation", "max_messages"], messages)))
    # Tables an AEAD does not use: the validator refuses them, the schema cannot say so.
    for aead in rules.AEADS:
        for table, choice in (("aes", "ram-full"), ("gcm", "8-bit")):
            cases.append((f"{aead} with tables.{table}", _set(_set(BASE, ["crypto", "aead"], aead), ["crypto", "tables", table], choice)))
    return cases


MUTATIONS = _mutations()


def test_mutations_cover_every_rule_and_both_outcomes() -> None:
    outcomes = {_accepted_by_validator(profile) for _, profile in MUTATIONS}
    assert outcomes == {True, False} and len(MUTATIONS) > 250


@pytest.mark.parametrize("profile", [p for _, p in MUTATIONS], ids=[label for label, _ in MUTATIONS])
def test_schema_and_validator_agree(checker: jsonschema.Draft202012Validator, profile: Any) -> None:
    by_schema = not list(checker.iter_errors(profile))
    assert by_schema == _accepted_by_validator(profile)
