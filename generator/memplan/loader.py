"""Reads a profile into a tree of positioned nodes.

PyYAML's composer gives every node a start mark; we keep it so that every
later error can point at `file:line:col`. The loader refuses what a profile
never needs and an attacker could abuse: aliases (billion-laughs bombs),
custom tags, several documents, deep nesting and duplicate keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, DocumentStartEvent, StreamEndEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from memplan.diagnostics import Diagnostic, Position, ProfileError
from memplan.input_file import NotARegularFile, TooLarge, read_bounded

MAX_DEPTH = 16  # a schema-1 profile nests 4 levels; anything deeper is hostile or a mistake
MAX_BYTES = 1 << 20  # profiles are a few hundred bytes
LINE_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")  # YAML's line breaks: the positions count lines by them

Scalar = Union[str, int, float, bool, None]


@dataclass
class YScalar:
    value: Scalar
    position: Position
    tag: str  # "str", "int", "float", "bool", "null"


@dataclass
class YList:
    items: List["YNode"]
    position: Position


@dataclass
class YMap:
    entries: Dict[str, Tuple[Position, "YNode"]] = field(default_factory=dict)
    position: Position = Position(1, 1)


YNode = Union[YScalar, YList, YMap]


def _position(node_or_mark: Any) -> Position:
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    return Position(mark.line + 1, mark.column + 1)


class _Failure(Exception):
    def __init__(self, position: Position, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader whose composer rejects aliases and limits nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise _Failure(_position(event.start_mark), "YAML aliases are not allowed in a profile")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Failure(_position(event.start_mark), f"nesting deeper than {MAX_DEPTH} levels")
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1


_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")  # C0 controls, DEL and Unicode line breaks

_TAGS = {
    "tag:yaml.org,2002:str": "str",
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null",
}


# Plain scalars are read by YAML 1.2's core rules, narrowed to what a profile
# holds: integers in decimal or 0x hex, true/false, null, and text. YAML 1.1
# forms that PyYAML would read as numbers behind the writer's back (010 is 8,
# 1:00:00 is 3600, 1_000, 0b10) and floats are errors at their position;
# yes/no/on/off are text, not booleans.
_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_NUMBER_LIKE = (
    (re.compile(r"[-+]?0[0-9_]+"), "a leading zero (YAML 1.1 reads it as octal)"),
    (re.compile(r"[-+]?0[oO][0-7_]+"), "an octal form"),
    (re.compile(r"[-+]?0[bB][01_]+"), "a binary form"),
    (re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?"), "a base-60 form (YAML 1.1 reads 1:00:00 as 3600)"),
    (re.compile(r"[-+]?[0-9][0-9_]*_[0-9_]*"), "underscores"),
    (re.compile(r"[-+]?(\.[0-9]+|[0-9][0-9_]*\.[0-9_]*|[0-9][0-9_]*(\.[0-9_]*)?[eE][-+]?[0-9]+)"), "a fraction or an exponent"),
    (re.compile(r"[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"), "infinity or not-a-number"),
    (re.compile(r"0x[0-9a-fA-F_]*[_g-zG-Z][0-9a-zA-Z_]*"), "a broken hex form"),
)


MAX_DIGITS = 40  # 2**128 has 39 digits; Python refuses to read more than 4300


def _plain(node: ScalarNode, pos: Position, errors: List[Tuple[Position, str]]) -> YScalar:
    text = node.value
    if len(text) > MAX_DIGITS and (_DECIMAL.fullmatch(text) or _HEX.fullmatch(text)):
        errors.append((pos, f"a number of {len(text)} digits: no value in a profile needs more than {MAX_DIGITS}"))
        return YScalar(None, pos, "null")
    if _DECIMAL.fullmatch(text):
        return YScalar(int(text), pos, "int")
    if _HEX.fullmatch(text):
        return YScalar(int(text, 16), pos, "int")
    if text in ("true", "false"):
        return YScalar(text == "true", pos, "bool")
    if text in ("", "~", "null"):
        return YScalar(None, pos, "null")
    for pattern, what in _NUMBER_LIKE:
        if pattern.fullmatch(text):
            errors.append((pos, f"{text!r} is written with {what}: numbers in a profile are decimal or 0x hex integers"))
            return YScalar(None, pos, "null")
    return YScalar(text, pos, "str")


def _convert(loader: yaml.SafeLoader, node: Node, errors: List[Tuple[Position, str]]) -> YNode:
    pos = _position(node)
    if isinstance(node, ScalarNode):
        kind = _TAGS.get(node.tag)
        if node.style is None and kind is not None:
            implicit = node.tag == loader.resolve(ScalarNode, node.value, (True, False))
            if kind == "str" and not implicit:  # !!str 010 is the text '010'
                return YScalar(node.value, pos, "str")
            scalar = _plain(node, pos, errors)
            if not implicit and scalar.tag not in (kind, "null"):  # !!int abc
                errors.append((pos, f"cannot read {kind} value {node.value!r}"))
                return YScalar(None, pos, "null")
            return scalar
        if kind is None:
            errors.append((pos, f"unsupported YAML tag {node.tag!r}"))
            return YScalar(node.value, pos, "str")
        try:
            value = loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            errors.append((pos, f"cannot read {kind} value {node.value!r}: {exc}"))
            return YScalar(None, pos, "null")
        return YScalar(value, pos, kind)
    if isinstance(node, SequenceNode):
        if node.tag != "tag:yaml.org,2002:seq":
            errors.append((pos, f"unsupported YAML tag {node.tag!r}"))
        return YList([_convert(loader, item, errors) for item in node.value], pos)
    if isinstance(node, MappingNode):
        if node.tag != "tag:yaml.org,2002:map":
            errors.append((pos, f"unsupported YAML tag {node.tag!r}"))
        result = YMap(position=pos)
        for key_node, value_node in node.value:
            key_pos = _position(key_node)
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                if key_node.tag == "tag:yaml.org,2002:merge":
                    errors.append((key_pos, "YAML merge keys ('<<') are not allowed in a profile"))
                else:
                    errors.append((key_pos, "mapping keys must be plain strings"))
                continue
            key = key_node.value
            if _CONTROL.search(key):
                # Keys end up in error lines: a line break would split a diagnostic in two.
                errors.append((key_pos, f"mapping key {key!r} contains control characters"))
                continue
            if key in result.entries:
                first = result.entries[key][0]
                errors.append((key_pos, f"duplicate key '{key}' (first defined at line {first.line})"))
                continue
            result.entries[key] = (key_pos, _convert(loader, value_node, errors))
        return result
    raise AssertionError(f"unexpected YAML node {node!r}")  # pragma: no cover


def _text_position(text: str, offset: int) -> Position:
    """Line and column of a character offset, counting line breaks as YAML does."""
    lines = LINE_BREAK.split(text[:offset])
    return Position(len(lines), len(lines[-1]) + 1)


def load_text(text: str, filename: str) -> YNode:
    """Parses one profile document; raises ProfileError with positions on any problem."""

    def fail(position: Optional[Position], message: str) -> ProfileError:
        return ProfileError([Diagnostic(filename, position, "", message)])

    if len(text) > MAX_BYTES:
        raise fail(None, f"file is larger than {MAX_BYTES} bytes; a profile is a few hundred")
    try:
        loader = _GuardedLoader(text)  # the reader refuses control characters here, before any parsing
    except yaml.reader.ReaderError as exc:
        raise fail(_text_position(text, exc.position), f"invalid YAML: character {exc.character:#04x} is not allowed") from None
    try:
        # Expect exactly one document: stream start, document, stream end.
        loader.get_event()  # StreamStartEvent
        if loader.check_event(StreamEndEvent):
            raise fail(Position(1, 1), "empty profile: expected a mapping with 'schema: 1'")
        if not loader.check_event(DocumentStartEvent):  # pragma: no cover - PyYAML always emits one
            raise fail(Position(1, 1), "expected a YAML document")
        root = loader.compose_document()
        if not loader.check_event(StreamEndEvent):
            extra = loader.peek_event()
            raise fail(_position(extra.start_mark), "a profile holds exactly one YAML document")
        errors: List[Tuple[Position, str]] = []
        tree = _convert(loader, root, errors)
    except _Failure as exc:
        raise fail(exc.position, exc.message) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        raise fail(_position(mark) if mark else None, f"invalid YAML: {message}") from None
    except yaml.YAMLError as exc:
        raise fail(None, f"invalid YAML: {exc}") from None
    except RecursionError:  # pragma: no cover - the depth guard fires first
        raise fail(None, "document nested too deeply") from None
    finally:
        loader.dispose()
    if errors:
        raise ProfileError([Diagnostic(filename, p, "", m) for p, m in errors])
    return tree


def load_file(path: str) -> Tuple[YNode, bytes]:
    """Returns the node tree and the exact bytes read (hashed into the output stamp)."""
    try:
        data = read_bounded(path, MAX_BYTES)  # count bytes: a text check after decoding would parse a truncated file
    except NotARegularFile:
        raise ProfileError([Diagnostic(path, None, "", "not a regular file; a profile is a YAML file")]) from None
    except TooLarge:
        raise ProfileError([Diagnostic(path, None, "", f"file is larger than {MAX_BYTES} bytes; a profile is a few hundred")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError([Diagnostic(path, None, "", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]) from None
    if "\x00" in text:
        raise ProfileError([Diagnostic(path, None, "", "file contains NUL bytes; not a YAML profile")])
    return load_text(text, path), data
