"""profiles/profile.schema.json describes what generator/memplan/validator.py enforces.

The validator is the source of truth. Two kinds of checks keep the schema in step:
- structural: every mapping, integer, size, choice and identifier the validator
  checks (recorded while it validates a profile that uses every key) has the
  same keys, required keys, ranges, enums and patterns in the schema, and every
  such call site in validator.py is covered by the recording;
- behavioural: a small evaluator of the JSON Schema keywords the schema uses
  (no jsonschema module here) agrees with the validator on a table of
  one-value mutations, boundaries included.
"""

from __future__ import annotations

import ast
import copy
import inspect
import json
import re
import sys
from typing import Any, Dict, List, Tuple

import pytest
import yaml

from conftest import REPO, SHIPPED, VALID_PROFILE
from memplan import PROFILE_SCHEMA, limits, model, validator
from memplan.diagnostics import ProfileError
from memplan.loader import load_text
from memplan.reserved import CPP_KEYWORDS, LIBRARY_MACROS

SCHEMA_PATH = REPO / "profiles" / "profile.schema.json"


@pytest.fixture(scope="module")
def schema() -> Dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


# -- a minimal JSON Schema 2020-12 evaluator for the keywords the schema uses --

_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description", "$comment"}


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return a == b


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _ecma_search(pattern: str, text: str) -> bool:
    # ECMA-262 `$` without the m flag matches only at the very end; Python's
    # also matches before a final newline, so anchor it with \Z.
    return re.search(re.sub(r"\$$", r"\\Z", pattern), text) is not None


def resolve(root: Dict[str, Any], node: Dict[str, Any]) -> Dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def is_valid(root: Dict[str, Any], node: Any, value: Any) -> bool:
    if node is True:
        return True
    if node is False:
        return False
    for key, arg in node.items():
        if key in _ANNOTATIONS:
            continue
        if key == "$ref":
            if not is_valid(root, resolve(root, {"$ref": arg}), value):
                return False
        elif key == "type":
            checks = {
                "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
                "string": lambda v: isinstance(v, str),
                "object": lambda v: isinstance(v, dict),
                "array": lambda v: isinstance(v, list),
            }
            if not checks[arg](value):
                return False
        elif key == "const":
            if not _json_equal(arg, value):
                return False
        elif key == "enum":
            if not any(_json_equal(choice, value) for choice in arg):
                return False
        elif key in ("minimum", "maximum", "multipleOf"):
            if _is_number(value):
                if key == "minimum" and value < arg or key == "maximum" and value > arg:
                    return False
                if key == "multipleOf" and value % arg != 0:
                    return False
        elif key in ("pattern", "maxLength"):
            if isinstance(value, str):
                if key == "pattern" and not _ecma_search(arg, value):
                    return False
                if key == "maxLength" and len(value) > arg:
                    return False
        elif key in ("minItems", "maxItems", "uniqueItems", "items"):
            if isinstance(value, list):
                if key == "minItems" and len(value) < arg or key == "maxItems" and len(value) > arg:
                    return False
                if key == "uniqueItems" and arg:
                    if any(_json_equal(a, b) for i, a in enumerate(value) for b in value[i + 1:]):
                        return False
                if key == "items" and not all(is_valid(root, arg, item) for item in value):
                    return False
        elif key in ("properties", "required", "additionalProperties", "propertyNames", "minProperties"):
            if isinstance(value, dict):
                if key == "properties":
                    if not all(is_valid(root, sub, value[k]) for k, sub in arg.items() if k in value):
                        return False
                elif key == "required":
                    if not all(k in value for k in arg):
                        return False
                elif key == "additionalProperties":
                    known = node.get("properties", {})
                    if not all(is_valid(root, arg, v) for k, v in value.items() if k not in known):
                        return False
                elif key == "propertyNames":
                    if not all(is_valid(root, arg, k) for k in value):
                        return False
                elif len(value) < arg:
                    return False
        elif key == "allOf":
            if not all(is_valid(root, sub, value) for sub in arg):
                return False
        elif key == "anyOf":
            if not any(is_valid(root, sub, value) for sub in arg):
                return False
        elif key == "oneOf":
            if sum(1 for sub in arg if is_valid(root, sub, value)) != 1:
                return False
        elif key == "not":
            if is_valid(root, arg, value):
                return False
        else:
            raise AssertionError(f"the test's evaluator does not know the schema keyword {key!r}")
    return True


def test_evaluator_rejects_what_it_should(schema: Dict[str, Any]) -> None:
    # Guard the guard: the evaluator is not a rubber stamp.
    assert not is_valid(schema, schema, {})
    assert not is_valid(schema, schema, [])
    assert not is_valid(schema, {"type": "integer"}, True)
    assert not is_valid(schema, {"enum": [1]}, True)
    assert not is_valid(schema, {"pattern": "^a$"}, "a\n")
    assert is_valid(schema, {"pattern": "^a$"}, "a")
    assert not is_valid(schema, {"oneOf": [{"type": "integer"}, {"minimum": 0}]}, 3)


# -- structural comparison -----------------------------------------------------


def schema_at(root: Dict[str, Any], path: str) -> Dict[str, Any]:
    """The schema node for a validator key path such as 'pools[0].usage[1]'."""
    node = resolve(root, root)
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        node = _descend(root, node, token)
    return node


def _descend(root: Dict[str, Any], node: Dict[str, Any], token: str) -> Dict[str, Any]:
    node = resolve(root, node)
    if token.startswith("["):
        assert "items" in node, f"schema has no items at {token}"
        return resolve(root, node["items"])
    if token in node.get("properties", {}):
        return resolve(root, node["properties"][token])
    extra = node.get("additionalProperties")
    assert isinstance(extra, dict), f"schema has no property {token!r}"
    return resolve(root, extra)


def _flatten(root: Dict[str, Any], node: Dict[str, Any]) -> Dict[str, Any]:
    """Merges allOf parts and $refs into one dict (the keys we compare do not conflict)."""
    node = resolve(root, node)
    merged = {k: v for k, v in node.items() if k != "allOf"}
    for part in node.get("allOf", []):
        for key, value in _flatten(root, part).items():
            merged.setdefault(key, value)
    return merged


def _full_profile() -> str:
    # VALID_PROFILE plus every optional key, so that every validator check runs.
    text = VALID_PROFILE.replace("usage: [message]}", "usage: [message], region: sram}")
    text = text.replace("  key_slots: 8\n", "  key_slots: 8\n  region: sram\n")
    text = text.replace("  buffer_size: 2048\n", "  buffer_size: 2048\n  region: sram\n")
    assert text.count("region:") == 6
    text = text.replace("region: sram}", "region: sram, detect_write_after_free: false}", 1)
    return text


class Recorder:
    """Records every check the validator makes, with the line in validator.py that made it."""

    def __init__(self) -> None:
        self.calls: Dict[str, List[Tuple[int, str, tuple]]] = {}

    def wrap(self, monkeypatch: pytest.MonkeyPatch, method: str) -> None:
        original = getattr(validator._Checker, method)
        calls = self.calls.setdefault(method, [])

        def recording(checker: Any, *args: Any) -> Any:
            caller = sys._getframe(1)
            if caller.f_code.co_filename == validator.__file__:
                calls.append((caller.f_lineno, args[1], args[2:]))
            return original(checker, *args)

        monkeypatch.setattr(validator._Checker, method, recording)


@pytest.fixture(scope="module")
def recorded() -> Dict[str, List[Tuple[int, str, tuple]]]:
    recorder = Recorder()
    with pytest.MonkeyPatch.context() as monkeypatch:
        for method in ("mapping", "integer", "size", "choice", "identifier", "boolean"):
            recorder.wrap(monkeypatch, method)
        validator.validate(load_text(_full_profile(), "full.yaml"), "full.yaml")
    return recorder.calls


def _call_sites(method: str) -> List[int]:
    """Lines of validator.py that call c.<method>(...) with something to check (not an empty key tuple)."""
    tree = ast.parse(inspect.getsource(validator))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method:
            if method == "mapping" and isinstance(node.args[2], ast.Tuple) and not node.args[2].elts:
                continue  # c.mapping(node, path, (), ()) only reports "must be a mapping"
            lines.append(node.lineno)
    return sorted(set(lines))


@pytest.mark.parametrize("method", ["mapping", "integer", "size", "choice", "identifier", "boolean"])
def test_every_check_in_the_validator_is_recorded(recorded: Dict[str, list], method: str) -> None:
    sites = _call_sites(method)
    assert sites, method
    seen = {line for line, _, _ in recorded[method]}
    # A call spanning several lines reports its first line in the frame on 3.11.
    missing = [line for line in sites if line not in seen]
    assert not missing, f"validator.py lines {missing} call {method}() but the full profile never reached them"


def test_mappings_match(schema: Dict[str, Any], recorded: Dict[str, list]) -> None:
    checked = set()
    for _, path, (allowed, required) in recorded["mapping"]:
        if not allowed:
            continue
        node = _flatten(schema, schema_at(schema, path))
        where = path or "<document>"
        assert node.get("type") == "object", where
        assert node.get("additionalProperties") is False, f"{where}: unknown keys must be refused"
        assert sorted(node["properties"]) == sorted(allowed), where
        assert sorted(node.get("required", [])) == sorted(required), where
        checked.add(re.sub(r"\[\d+\]", "[]", re.sub(r"^target\.regions\.\w+", "target.regions.*", path)))
    assert checked == {
        "", "target", "target.regions.*", "pools[]", "sessions", "workspace",
        "crypto", "crypto.nonce", "crypto.rotation",
    }


def test_top_level_keys(schema: Dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert list(schema["properties"]) == list(validator.TOP_KEYS)
    assert schema["required"] == list(validator.REQUIRED_TOP)
    assert schema["properties"]["schema"]["const"] == PROFILE_SCHEMA


def test_integer_ranges_match(schema: Dict[str, Any], recorded: Dict[str, list]) -> None:
    assert recorded["integer"]
    for _, path, (low, high) in recorded["integer"]:
        node = _flatten(schema, schema_at(schema, path))
        if path == "schema":
            assert node["const"] == PROFILE_SCHEMA
            continue
        assert node.get("type") == "integer", path
        assert (node["minimum"], node["maximum"]) == (low, high), path


def test_size_ranges_match(schema: Dict[str, Any], recorded: Dict[str, list]) -> None:
    paths = set()
    for _, path, (low, high) in recorded["size"]:
        node = _flatten(schema, schema_at(schema, path))
        integer = [b for b in node["anyOf"] if b.get("type") == "integer"]
        strings = [resolve(schema, b) for b in node["anyOf"] if b.get("type") != "integer"]
        assert len(integer) == 1 and len(strings) == 1, path
        assert (integer[0]["minimum"], integer[0]["maximum"]) == (low, high), path
        assert strings[0]["type"] == "string" and strings[0]["pattern"] == _size_pattern(), path
        paths.add(re.sub(r"\[\d+\]", "[]", path))
    assert {"pools[].block_size", "workspace.buffer_size", "budget.sram", "target.regions.sram.size"} <= paths


def _size_pattern() -> str:
    # The validator's pattern with its capture group dropped.
    return validator.SIZE_RE.pattern.replace("([0-9]+)", "[0-9]+")


def test_size_pattern_is_the_validators(schema: Dict[str, Any]) -> None:
    pattern = schema["$defs"]["sizeString"]["pattern"]
    assert pattern == r"^\s*[0-9]+\s*(B|KiB|MiB)?\s*$" == _size_pattern()
    for text in ["12", " 12 KiB ", "4MiB", "7 B", "12 KB", "-4", "1.5KiB", "KiB", "", "12 kib", "0x10"]:
        assert _ecma_search(pattern, text) == (validator.parse_size(text) is not None), text


def test_choices_match(schema: Dict[str, Any], recorded: Dict[str, list]) -> None:
    by_path = {re.sub(r"\[\d+\]", "[]", path): choices for _, path, (choices,) in recorded["choice"]}
    assert set(by_path) == {"target.core", "crypto.aead", "pools[].usage[]"}
    for _, path, (choices,) in recorded["choice"]:
        assert schema_at(schema, path)["enum"] == list(choices), path
    assert schema_at(schema, "target.core")["enum"] == list(model.CORES)
    assert schema_at(schema, "crypto.aead")["enum"] == list(model.AEADS)
    assert schema_at(schema, "pools[0].usage[0]")["enum"] == list(model.USAGES)
    usage = schema_at(schema, "pools[0].usage")
    assert usage["minItems"] == 1 and usage["uniqueItems"] is True


def _keywords_matching(pattern: "re.Pattern[str]") -> List[str]:
    return sorted(k for k in CPP_KEYWORDS if pattern.fullmatch(k))


def test_identifiers_match(schema: Dict[str, Any], recorded: Dict[str, list]) -> None:
    assert len(recorded["identifier"]) >= 6  # name, 4 pool names, 6 region references
    for _, path, (pattern, _what) in recorded["identifier"]:
        node = _flatten(schema, schema_at(schema, path))
        assert node["type"] == "string", path
        assert node["pattern"] == pattern.pattern, path
        assert node["maxLength"] == validator.MAX_NAME, path
        refused = resolve(schema, node["not"])["enum"]
        assert sorted(refused) == _keywords_matching(pattern), path
    name_rules = schema["properties"]["name"]["allOf"]
    reserved = [part["not"]["enum"] for part in name_rules if "enum" in part.get("not", {})]
    macros = {m for m in LIBRARY_MACROS if validator.NAME_RE.fullmatch(m)}
    assert reserved == [sorted(validator.RESERVED | validator.RUNTIME_NAMES | macros)]
    refused_patterns = [part["not"]["pattern"] for part in name_rules if "pattern" in part.get("not", {})]
    assert refused_patterns == [validator.RESERVED_NAME_RE.pattern]
    regions = schema_at(schema, "target.regions")
    assert regions["propertyNames"]["pattern"] == validator.IDENT_RE.pattern
    assert regions["propertyNames"]["maxLength"] == validator.MAX_NAME
    assert regions["minProperties"] == 1


def test_constants_match(schema: Dict[str, Any]) -> None:
    pools = schema["properties"]["pools"]
    assert (pools["minItems"], pools["maxItems"]) == (1, limits.POOLS_MAX.value)
    assert schema_at(schema, "pools[0].count")["maximum"] == limits.BLOCK_COUNT_MAX.value
    line = schema_at(schema, "target.cache_line")
    assert (line["minimum"], line["maximum"]) == (limits.CACHE_LINE_MIN.value, limits.CACHE_LINE_MAX.value)
    powers = [v for v in range(limits.CACHE_LINE_MIN.value, limits.CACHE_LINE_MAX.value + 1) if v & (v - 1) == 0]
    assert line["enum"] == powers
    assert schema["properties"]["description"]["pattern"] == validator.DESCRIPTION_RE.pattern
    # fixed_size + counter_size == 12, and max_messages within the counter's range, per counter size.
    branches = schema["properties"]["crypto"]["oneOf"]
    pairs = []
    for branch in branches:
        nonce = branch["properties"]["nonce"]["properties"]
        counter = nonce["counter_size"]["const"]
        pairs.append((nonce["fixed_size"]["const"], counter))
        assert branch["properties"]["rotation"]["properties"]["max_messages"]["maximum"] == (1 << (8 * counter)) - 1
    counter_range = schema_at(schema, "crypto.nonce.counter_size")
    assert pairs == [(limits.NONCE_BYTES.value - c, c) for c in range(counter_range["minimum"], counter_range["maximum"] + 1)]


# -- behavioural comparison ---------------------------------------------------------


def _validator_accepts(document: Dict[str, Any]) -> Tuple[bool, List[str]]:
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    try:
        validator.validate(load_text(text, "case.yaml"), "case.yaml")
    except ProfileError as exc:
        return False, [str(d) for d in exc.diagnostics]
    return True, []


def _set(document: Dict[str, Any], path: str, value: Any) -> None:
    tokens = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    node: Any = document
    for token in tokens[:-1]:
        node = node[int(token[1:-1])] if token.startswith("[") else node[token]
    last = tokens[-1]
    if value is _DELETE:
        del node[last]
    elif last.startswith("["):
        node[int(last[1:-1])] = value
    else:
        node[last] = value


class _Delete:
    def __repr__(self) -> str:
        return "<deleted>"

    def __deepcopy__(self, memo: Dict[int, Any]) -> "_Delete":
        return self


_DELETE = _Delete()
_U32 = (1 << 32) - 1
_U40 = (1 << 40) - 1
_U64 = (1 << 64) - 1

# (mutations, expected valid). Valid cases avoid the validator-only rules (budgets, key pool sizes).
CASES: List[Tuple[Dict[str, Any], bool]] = [
    ({}, True),
    ({"schema": 2}, False),
    ({"schema": True}, False),
    ({"schema": _DELETE}, False),
    ({"name": "a" * 32}, True),
    ({"name": "a" * 33}, False),
    ({"name": "Demo"}, False),
    ({"name": "9lives"}, False),
    ({"name": "_x"}, True),
    ({"name": "class"}, False),
    ({"name": "lambda"}, True),  # a Python keyword, a fine C++ name
    ({"name": "errno"}, False),  # a C library macro
    ({"name": "co_await"}, False),
    ({"name": "memory"}, False),
    ({"name": "demo\n"}, False),
    ({"name": 5}, False),
    ({"description": _DELETE}, True),
    ({"description": "tab\tand unicode: \u00e9"}, True),
    ({"description": "two\nlines"}, False),
    ({"description": "bell\x07"}, False),
    ({"description": 3}, False),
    ({"target.core": "cortex-m5"}, False),
    ({"target.core": "host"}, True),
    ({"target.cache_line": 16}, False),
    ({"target.cache_line": 48}, False),
    ({"target.cache_line": 256}, True),
    ({"target.cache_line": 512}, False),
    ({"target.regions": {}}, False),
    ({"target.regions.sram.size": "1MiB"}, True),
    ({"target.regions.sram.size": "128 KiB"}, True),
    ({"target.regions.sram.size": "12 KB"}, False),
    ({"target.regions.sram.size": "1.5KiB"}, False),
    ({"target.regions.sram.size": -4}, False),
    ({"target.regions.sram.size": (1 << 32) - 1, "budget.sram": 1}, True),
    ({"target.regions.sram.size": 1 << 32, "budget.sram": 1}, False),  # a Cortex-M size_t cannot hold it
    ({"target.regions.sram.extra": 1}, False),
    ({"target.regions.sram": {}}, False),
    ({"target.regions": {"sram": {"size": 1024}, "ccm": {"size": 1024}, "bad name": {"size": 1}}}, False),
    ({"target.extra": 1}, False),
    ({"budget.sram": 1}, True),
    ({"budget.sram": 0}, False),
    ({"budget.sram": "4 KiB"}, True),
    ({"budget.sram": "4KB"}, False),
    ({"pools": []}, False),
    ({"pools[1].block_size": 8}, True),
    ({"pools[1].block_size": 12}, False),
    ({"pools[1].block_size": 0}, False),
    ({"pools[1].block_size": 1 << 20}, True),
    ({"pools[1].block_size": (1 << 20) + 8}, False),
    ({"pools[1].block_size": "1MiB"}, True),
    ({"pools[1].block_size": True}, False),
    ({"pools[1].count": 0}, False),
    ({"pools[1].count": 65535}, True),
    ({"pools[1].count": 65536}, False),
    ({"pools[1].count": "8"}, False),
    ({"pools[1].usage": []}, False),
    ({"pools[1].usage": ["message", "message"]}, False),
    ({"pools[1].usage": ["context"]}, True),
    ({"pools[1].usage": ["bogus"]}, False),
    ({"pools[1].usage": "message"}, False),
    ({"pools[1].region": "ccm"}, True),
    ({"pools[1].region": "int"}, False),
    ({"pools[1].region": "int"}, False),  # a C++ keyword
    ({"pools[1].region": "x y"}, False),
    ({"pools[1].name": "struct"}, False),
    ({"pools[1].name": "Small"}, False),
    ({"pools[1].extra": 1}, False),
    ({"pools[1].count": _DELETE}, False),
    ({"sessions.count": 0}, False),
    ({"sessions.count": 1024}, True),
    ({"sessions.count": 1025}, False),
    ({"sessions.key_slots": 1025}, False),
    ({"sessions.region": "ccm"}, True),
    ({"sessions.key_slots": _DELETE}, False),
    ({"workspace.buffer_size": 16}, True),
    ({"workspace.buffer_size": 8}, False),
    ({"workspace.buffer_size": 24}, False),
    ({"workspace.buffer_size": "1MiB"}, True),
    ({"workspace.buffer_size": (1 << 20) + 16}, False),
    ({"workspace.region": "ccm"}, True),
    ({"workspace.extra": 1}, False),
    ({"crypto.aead": "aes-128-gcm"}, True),
    ({"crypto.aead": "aes-512-gcm"}, False),
    ({"crypto.tag_size": 11}, False),
    ({"crypto.tag_size": 12}, True),
    ({"crypto.tag_size": 17}, False),
    ({"crypto.nonce.fixed_size": 8, "crypto.nonce.counter_size": 4}, True),
    ({"crypto.nonce.fixed_size": 6, "crypto.nonce.counter_size": 6}, True),
    ({"crypto.nonce.fixed_size": 0, "crypto.nonce.counter_size": 12}, False),
    ({"crypto.nonce.fixed_size": 5}, False),
    ({"crypto.nonce.fixed_size": 9, "crypto.nonce.counter_size": 3}, False),
    ({"crypto.nonce.reserve": 0}, False),
    ({"crypto.nonce.reserve": _U32}, True),
    ({"crypto.nonce.reserve": _U32 + 1}, False),
    ({"crypto.nonce.fixed_size": 8, "crypto.nonce.counter_size": 4, "crypto.rotation.max_messages": _U32}, True),
    ({"crypto.nonce.fixed_size": 8, "crypto.nonce.counter_size": 4, "crypto.rotation.max_messages": _U32 + 1}, False),
    ({"crypto.nonce.fixed_size": 7, "crypto.nonce.counter_size": 5, "crypto.rotation.max_messages": _U40}, True),
    ({"crypto.nonce.fixed_size": 7, "crypto.nonce.counter_size": 5, "crypto.rotation.max_messages": _U40 + 1}, False),
    ({"crypto.rotation.max_messages": _U64}, True),
    ({"crypto.rotation.max_messages": _U64 + 1}, False),
    ({"crypto.rotation.max_messages": 0}, False),
    ({"crypto.rotation.max_age_s": _U32}, True),
    ({"crypto.rotation.max_age_s": _U32 + 1}, False),
    ({"crypto.max_security_violations": 0}, False),
    ({"crypto.max_security_violations": 255}, True),
    ({"crypto.max_security_violations": 256}, False),
    ({"crypto.rotation": [1]}, False),
    ({"extra": 1}, False),
    ({"crypto": _DELETE}, False),
]


def _case_id(mutations: Dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}"[:40] for k, v in mutations.items()) or "valid"


@pytest.mark.parametrize("mutations, expected", CASES, ids=[_case_id(m) for m, _ in CASES])
def test_schema_and_validator_agree(schema: Dict[str, Any], mutations: Dict[str, Any], expected: bool) -> None:
    document = yaml.safe_load(VALID_PROFILE)
    for path, value in mutations.items():
        _set(document, path, copy.deepcopy(value))
    accepted, errors = _validator_accepts(document)
    assert accepted == expected, errors
    assert is_valid(schema, schema, document) == expected


def test_thirty_two_pools_and_no_more(schema: Dict[str, Any]) -> None:
    document = yaml.safe_load(VALID_PROFILE)
    pool = {"block_size": 64, "count": 1, "usage": ["message"]}  # deep-copied: shared lists dump as YAML aliases
    document["pools"] = [{"name": f"p{i}", **copy.deepcopy(pool)} for i in range(limits.POOLS_MAX.value)]
    assert _validator_accepts(document)[0] and is_valid(schema, schema, document)
    document["pools"].append({"name": "one_more", **pool})
    assert not _validator_accepts(document)[0] and not is_valid(schema, schema, document)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profiles_match_the_schema(schema: Dict[str, Any], name: str) -> None:
    document = yaml.safe_load((REPO / "profiles" / f"{name}.yaml").read_text(encoding="utf-8"))
    assert is_valid(schema, schema, document)


def test_booleans_match(schema: Dict[str, Any], recorded: Dict[str, list]) -> None:
    paths = {re.sub(r"\[\d+\]", "[]", path) for _, path, _ in recorded["boolean"]}
    assert paths == {"pools[].detect_write_after_free"}
    for _, path, _ in recorded["boolean"]:
        node = schema_at(schema, path)
        assert node["type"] == "boolean", path
        assert "default" not in node  # the default depends on usage: the description says so
