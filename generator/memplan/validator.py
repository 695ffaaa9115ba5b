"""Schema-1 validation: every key typed and range-checked, all errors at once.

Keys, ranges, choices and patterns come from rules.py (the same tree
`memplan schema` renders for editors); what a schema cannot say (references
between keys, budgets against regions, generated-name clashes) is checked here.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, List, Optional, Tuple

from memplan import PROFILE_SCHEMA, limits, names, rules
from memplan.diagnostics import Diagnostic, Position, ProfileError
from memplan.loader import YList, YMap, YNode, YScalar, load_file
from memplan.model import (AEADS, DEFAULT_AES_TABLES, DEFAULT_GCM_TABLE, Crypto, Flash, Interrupt, PoolSpec, Profile, Sessions, Stack, Target,
                           Thread, Workspace)
from memplan.reserved import CPP_KEYWORDS, LIBRARY_MACROS, RESERVED_IDENTIFIER

NAME_RE = re.compile(rules.NAME_PATTERN)
IDENT_RE = re.compile(rules.IDENTIFIER_PATTERN)
SIZE_RE = re.compile(rules.SIZE_PATTERN)
DESCRIPTION_RE = re.compile(rules.DESCRIPTION_PATTERN)
RESERVED_NAME_RE = re.compile(rules.RESERVED_NAME_PATTERN)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
MAX_NAME = rules.MAX_NAME


def parse_size(text: str) -> Optional[int]:
    """'48KiB' -> 49152; None when the text is not a size."""
    match = SIZE_RE.match(text)
    if not match:
        return None
    return int(match.group(1)) * rules.SIZE_UNITS[match.group(2)]


class _Checker:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.errors: List[Diagnostic] = []

    def error(self, position: Optional[Position], path: str, message: str) -> None:
        self.errors.append(Diagnostic(self.filename, position, path, message))

    # -- structure -------------------------------------------------------
    def mapping(self, node: YNode, path: str, allowed: Tuple[str, ...], required: Tuple[str, ...]) -> Optional[YMap]:
        if not isinstance(node, YMap):
            self.error(node.position, path or "<document>", f"must be a mapping (got {_describe(node)})")
            return None
        for key, (key_pos, _) in node.entries.items():
            if key not in allowed:
                self.error(key_pos, _join(path, key), f"unknown key (expected one of: {', '.join(allowed)})")
        for key in required:
            if key not in node.entries:
                self.error(node.position, _join(path, key), "missing required key")
        return node

    def child(self, node: Optional[YMap], key: str) -> Optional[YNode]:
        if node is None or key not in node.entries:
            return None
        return node.entries[key][1]

    # -- scalars ---------------------------------------------------------
    def integer(self, node: Optional[YNode], path: str, low: int, high: int) -> Optional[int]:
        if node is None:
            return None
        if not isinstance(node, YScalar) or node.tag != "int":
            self.error(node.position, path, f"must be an integer (got {_describe(node)})")
            return None
        return self._range(node, path, int(node.value), low, high)  # type: ignore[arg-type]

    def size(self, node: Optional[YNode], path: str, low: int, high: int) -> Optional[int]:
        """An integer number of bytes or a string with a unit: B, KiB, MiB."""
        if node is None:
            return None
        if isinstance(node, YScalar) and node.tag == "int":
            return self._range(node, path, int(node.value), low, high)  # type: ignore[arg-type]
        if isinstance(node, YScalar) and node.tag == "str":
            value = parse_size(str(node.value))
            if value is None:
                self.error(node.position, path, f"not a size: {node.value!r} (use bytes or a unit: B, KiB, MiB)")
                return None
            return self._range(node, path, value, low, high)
        self.error(node.position, path, f"must be a size in bytes (got {_describe(node)})")
        return None

    def _range(self, node: YScalar, path: str, value: int, low: int, high: int) -> Optional[int]:
        if value < low:
            self.error(node.position, path, f"must be >= {low} (got {value})" if low != 1 else f"must be > 0 (got {value})")
            return None
        if value > high:
            self.error(node.position, path, f"must be <= {high} (got {value})")
            return None
        return value

    def boolean(self, node: Optional[YNode], path: str) -> Optional[bool]:
        if node is None:
            return None
        if not isinstance(node, YScalar) or node.tag != "bool":
            self.error(node.position, path, f"must be true or false (got {_describe(node)})")
            return None
        return bool(node.value)

    def string(self, node: Optional[YNode], path: str) -> Optional[str]:
        if node is None:
            return None
        if not isinstance(node, YScalar) or node.tag != "str":
            self.error(node.position, path, f"must be a string (got {_describe(node)})")
            return None
        return str(node.value)

    def identifier(self, node: Optional[YNode], path: str, pattern: "re.Pattern[str]", what: str) -> Optional[str]:
        text = self.string(node, path)
        if text is None or node is None:
            return None
        if not pattern.fullmatch(text) or len(text) > MAX_NAME:  # fullmatch: `$` alone accepts a trailing newline
            self.error(node.position, path, f"{what} must match {pattern.pattern} and have at most {MAX_NAME} characters (got {text!r})")
            return None
        if text in CPP_KEYWORDS:
            self.error(node.position, path, f"{text!r} is a C++ keyword")
            return None
        return text

    def choice(self, node: Optional[YNode], path: str, choices: Tuple[str, ...]) -> Optional[str]:
        text = self.string(node, path)
        if text is None or node is None:
            return None
        if text not in choices:
            self.error(node.position, path, f"must be one of {', '.join(choices)} (got {text!r})")
            return None
        return text


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(node: YNode) -> str:
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YList):
        return "a list"
    if node.tag == "null":
        return "nothing"
    return f"{node.tag} {node.value!r}"


def _position_of(node: Optional[YNode], fallback: Position) -> Position:
    return node.position if node is not None else fallback


def validate(tree: YNode, filename: str) -> Profile:
    """Returns the typed profile or raises ProfileError listing every problem."""
    c = _Checker(filename)
    root = c.mapping(tree, "", *rules.keys(""))
    if root is None:
        raise ProfileError(c.errors)

    schema_node = c.child(root, "schema")
    if schema_node is not None:
        schema = c.integer(schema_node, "schema", 1, 1 << 16)
        if schema is not None and schema != PROFILE_SCHEMA:
            c.error(schema_node.position, "schema", f"unsupported schema {schema} (this generator reads schema {PROFILE_SCHEMA})")

    name = _profile_name(c, root)
    description_node = c.child(root, "description")
    description = c.string(description_node, "description") or ""
    if description and not DESCRIPTION_RE.fullmatch(description):
        c.error(_position_of(description_node, root.position), "description", f"must be one line without control characters (got {description!r})")
        description = ""
    elif description:
        problem = _description_problem(description)
        if problem:
            c.error(_position_of(description_node, root.position), "description", problem)
            description = ""

    target = _target(c, c.child(root, "target"))
    regions = target.regions if target else {}
    default_region = next(iter(regions)) if regions else ""

    def region_ref(node: Optional[YNode], path: str) -> str:
        if node is None:
            return default_region
        region = c.identifier(node, path, IDENT_RE, "a region name")
        if region is not None and regions and region not in regions:
            c.error(node.position, path, f"unknown region {region!r} (target.regions has: {', '.join(regions)})")
        return region or default_region

    budget = _budget(c, c.child(root, "budget"), regions)
    crypto = _crypto(c, c.child(root, "crypto"))
    pools = _pools(c, c.child(root, "pools"), region_ref, crypto)

    sessions_node = c.child(root, "sessions")
    sessions_map = c.mapping(sessions_node, "sessions", *rules.keys("sessions")) if sessions_node else None
    count = c.integer(c.child(sessions_map, "count"), "sessions.count", *rules.bounds("sessions.count"))
    key_slots = c.integer(c.child(sessions_map, "key_slots"), "sessions.key_slots", *rules.bounds("sessions.key_slots"))
    sessions_region = region_ref(c.child(sessions_map, "region"), "sessions.region")

    workspace_node = c.child(root, "workspace")
    workspace_map = c.mapping(workspace_node, "workspace", *rules.keys("workspace")) if workspace_node else None
    buffer_node = c.child(workspace_map, "buffer_size")
    multiple = rules.multiple("workspace.buffer_size")
    buffer_size = c.size(buffer_node, "workspace.buffer_size", *rules.bounds("workspace.buffer_size"))
    if buffer_size is not None and buffer_size % multiple != 0:
        c.error(_position_of(buffer_node, root.position), "workspace.buffer_size",
                f"must be a multiple of {multiple}, the AES block size (got {buffer_size})")
        buffer_size = None
    workspace_region = region_ref(c.child(workspace_map, "region"), "workspace.region")

    stack_node = c.child(root, "stack")
    stack = _stack(c, stack_node, region_ref) if stack_node is not None else None

    if pools is not None and target is not None:
        _generated_name_clashes(c, pools, regions, _positions(root))

    # Every region that holds part of the layout needs a budget.
    if target is not None and budget is not None:
        users: Dict[str, str] = {}
        for pool in pools or ():
            users.setdefault(pool.region, f"pools[{pool.index}]")
        users.setdefault(sessions_region, "sessions")
        users.setdefault(workspace_region, "workspace")
        if stack is not None:
            users.setdefault(stack.region, "stack")
            for index, thread in enumerate(stack.threads):
                users.setdefault(thread.region, f"stack.threads[{index}]")
        budget_node = c.child(root, "budget")
        for region, user in users.items():
            if region and region in regions and region not in budget:
                c.error(_position_of(budget_node, root.position), f"budget.{region}", f"missing: region {region!r} holds {user} and needs a budget")

    if c.errors:
        raise ProfileError(c.errors)
    assert name is not None and target is not None and budget is not None and pools is not None and crypto is not None
    assert count is not None and key_slots is not None and buffer_size is not None
    return Profile(
        path=filename,
        name=name,
        description=description,
        target=target,
        budget=budget,
        pools=tuple(pools),
        sessions=Sessions(count, key_slots, sessions_region),
        workspace=Workspace(buffer_size, workspace_region),
        crypto=crypto,
        positions=_positions(root),
        stack=stack,
    )


def _function(c: _Checker, node: Optional[YNode], path: str, rule: rules.Name = rules.FUNCTION_NAME) -> Optional[str]:
    text = c.string(node, path)
    if text is None or node is None:
        return None
    if not re.fullmatch(rule.pattern, text) or len(text) > rule.max_length:
        c.error(node.position, path, f"must be a function's symbol matching {rule.pattern} of at most {rule.max_length} characters "
                                     f"(got {text[:80]!r})")
        return None
    return text


def _stack(c: _Checker, node: YNode, region_ref: Callable[[Optional[YNode], str], str]) -> Optional[Stack]:
    """The stack section: its sizes, entry points and the analysis's annotations."""
    m = c.mapping(node, "stack", *rules.keys("stack"))
    if m is None:
        return None
    ok = True
    size_node = c.child(m, "size")
    size = c.size(size_node, "stack.size", *rules.bounds("stack.size"))
    if size is not None and size % rules.multiple("stack.size"):
        c.error(size_node.position if size_node else m.position, "stack.size", f"must be a multiple of 8, the AAPCS stack alignment (got {size})")
        size = None
    region = region_ref(c.child(m, "region"), "stack.region")
    entry_node = c.child(m, "entry")
    entry = _function(c, entry_node, "stack.entry") if entry_node is not None else "Reset_Handler"
    seen: Dict[str, str] = {} if entry is None else {entry: "stack.entry"}

    def unique(value_node: Optional[YNode], path: str) -> Optional[str]:
        name = _function(c, value_node, path)
        if name is not None and value_node is not None:
            if name in seen:
                c.error(value_node.position, path, f"{name} is already an entry point ({seen[name]})")
                return None
            seen[name] = path
        return name

    interrupts: List[Interrupt] = []
    for index, item in enumerate(_items(c, c.child(m, "interrupts"), "stack.interrupts")):
        path = f"stack.interrupts[{index}]"
        im = c.mapping(item, path, *rules.keys(path))
        function = unique(c.child(im, "function"), f"{path}.function")
        priority = c.integer(c.child(im, "priority"), f"{path}.priority", *rules.bounds(f"{path}.priority"))
        if im is None or function is None or priority is None:
            ok = False
            continue
        interrupts.append(Interrupt(function, priority))
    threads: List[Thread] = []
    for index, item in enumerate(_items(c, c.child(m, "threads"), "stack.threads")):
        path = f"stack.threads[{index}]"
        tm = c.mapping(item, path, *rules.keys(path))
        function = unique(c.child(tm, "function"), f"{path}.function")
        thread_size_node = c.child(tm, "size")
        thread_size = c.size(thread_size_node, f"{path}.size", *rules.bounds(f"{path}.size"))
        if thread_size is not None and thread_size % 8:
            c.error(thread_size_node.position if thread_size_node else item.position, f"{path}.size",
                    f"must be a multiple of 8, the AAPCS stack alignment (got {thread_size})")
            thread_size = None
        thread_region = region_ref(c.child(tm, "region"), f"{path}.region")
        if tm is None or function is None or thread_size is None:
            ok = False
            continue
        threads.append(Thread(function, thread_size, thread_region))

    def function_map(key: str) -> Dict[str, YNode]:
        value = c.child(m, key)
        if value is None:
            return {}
        if not isinstance(value, YMap):
            c.error(value.position, f"stack.{key}", f"must be a mapping of function -> value (got {_describe(value)})")
            return {}
        found: Dict[str, YNode] = {}
        for name, (key_pos, item) in value.entries.items():
            if not re.fullmatch(rules.FUNCTION_NAME.pattern, name) or len(name) > rules.SYMBOL_LENGTH_MAX:
                c.error(key_pos, f"stack.{key}", f"{name[:80]!r} is not a function's symbol (must match {rules.FUNCTION_NAME.pattern})")
                continue
            found[name] = item
        return found

    calls: Dict[str, Tuple[str, ...]] = {}
    for caller, item in function_map("calls").items():
        path = f"stack.calls.{caller}"
        targets = [_function(c, t, f"{path}[{i}]", rules.CALL_TARGET) for i, t in enumerate(_items(c, item, path))]
        if not targets:
            c.error(item.position, path, "must list at least one target")
        if targets and all(t is not None for t in targets):
            calls[caller] = tuple(t for t in targets if t is not None)
        else:
            ok = False
    recursion = {name: c.integer(item, f"stack.recursion.{name}", *rules.bounds("stack.recursion.x"))
                 for name, item in function_map("recursion").items()}
    frames = {name: c.size(item, f"stack.frames.{name}", *rules.bounds("stack.frames.x")) for name, item in function_map("frames").items()}
    if not ok or size is None or entry is None or None in recursion.values() or None in frames.values():
        return None
    return Stack(size, region, entry, tuple(interrupts), tuple(threads), calls,
                 {k: v for k, v in recursion.items() if v is not None}, {k: v for k, v in frames.items() if v is not None})


def _items(c: _Checker, node: Optional[YNode], path: str) -> List[YNode]:
    """A list's items; anything else is an error and no items."""
    if node is None:
        return []
    if not isinstance(node, YList):
        c.error(node.position, path, f"must be a list (got {_describe(node)})")
        return []
    rule = rules.at(path)
    if isinstance(rule, rules.ListOf) and rule.max_items is not None and len(node.items) > rule.max_items:
        c.error(node.position, path, f"at most {rule.max_items} entries (got {len(node.items)})")
        return []
    return list(node.items)


def _target(c: _Checker, node: Optional[YNode]) -> Optional[Target]:
    if node is None:
        return None
    m = c.mapping(node, "target", *rules.keys("target"))
    core = c.choice(c.child(m, "core"), "target.core", rules.choices("target.core"))
    line_node = c.child(m, "cache_line")
    cache_line = c.integer(line_node, "target.cache_line", *rules.bounds("target.cache_line"))
    if cache_line is not None and cache_line & (cache_line - 1):
        c.error(_position_of(line_node, node.position), "target.cache_line", f"must be a power of two (got {cache_line})")
        cache_line = None
    regions: Dict[str, int] = {}
    origins: Dict[str, int] = {}
    spans: List[Tuple[str, int, int, Position]] = []  # key path, origin, size, where: for the overlap check
    regions_node = c.child(m, "regions")
    ok = True
    if regions_node is not None:
        rm = c.mapping(regions_node, "target.regions", (), ()) if not isinstance(regions_node, YMap) else regions_node
        if rm is None:
            ok = False
        elif not rm.entries:
            c.error(rm.position, "target.regions", "must list at least one RAM region")
            ok = False
        else:
            for region, (key_pos, value) in rm.entries.items():
                path = f"target.regions.{region}"
                if not IDENT_RE.fullmatch(region) or len(region) > MAX_NAME:
                    c.error(key_pos, path, f"a region name must match {IDENT_RE.pattern} (got {region!r})")
                    ok = False
                    continue
                spec = c.mapping(value, path, *rules.keys(path))
                size = c.size(c.child(spec, "size"), f"{path}.size", *rules.bounds(f"{path}.size"))
                if size is None:
                    ok = False
                else:
                    regions[region] = size
                origin_node = c.child(spec, "origin")
                origin = _address(c, origin_node, f"{path}.origin", size)
                if origin is not None:
                    origins[region] = origin
                    spans.append((f"{path}.origin", origin, size or 0, origin_node.position if origin_node else rm.position))
    flash = _flash(c, c.child(m, "flash"), spans)
    _no_overlaps(c, spans)
    if core is None or cache_line is None or not ok or m is None or regions_node is None:
        return None
    return Target(core, cache_line, regions, origins, flash)


def _address(c: _Checker, node: Optional[YNode], path: str, size: Optional[int]) -> Optional[int]:
    """An ORIGIN: a word-aligned address on the core from which `size` bytes fit below 4 GiB."""
    origin = c.integer(node, path, *rules.bounds(path))
    if origin is None or node is None:
        return None
    if origin % 4:
        c.error(node.position, path, f"must be a multiple of 4 (got 0x{origin:x})")
        return None
    if size is not None and origin + size > 1 << 32:
        c.error(node.position, path, f"0x{origin:x} + {size} B ends past the 4 GiB a Cortex-M core addresses")
        return None
    return origin


def _flash(c: _Checker, node: Optional[YNode], spans: List[Tuple[str, int, int, Position]]) -> Optional[Flash]:
    if node is None:
        return None
    m = c.mapping(node, "target.flash", *rules.keys("target.flash"))
    size = c.size(c.child(m, "size"), "target.flash.size", *rules.bounds("target.flash.size"))
    origin_node = c.child(m, "origin")
    origin = _address(c, origin_node, "target.flash.origin", size)
    if origin is None or size is None or origin_node is None:
        return None
    spans.append(("target.flash.origin", origin, size, origin_node.position))
    return Flash(origin, size)


def _no_overlaps(c: _Checker, spans: List[Tuple[str, int, int, Position]]) -> None:
    """Regions with origins, and the flash, are distinct memories: none may overlap another."""
    for index, (path, origin, size, position) in enumerate(spans):
        for other, other_origin, other_size, _ in spans[:index]:
            if origin < other_origin + other_size and other_origin < origin + size:
                c.error(position, path, f"0x{origin:x}..0x{origin + size:x} overlaps {other.removesuffix('.origin')} "
                                        f"(0x{other_origin:x}..0x{other_origin + other_size:x})")


def _budget(c: _Checker, node: Optional[YNode], regions: Dict[str, int]) -> Optional[Dict[str, int]]:
    if node is None:
        return None
    if not isinstance(node, YMap):
        c.mapping(node, "budget", (), ())
        return None
    budget: Dict[str, int] = {}
    ok = True
    for region, (key_pos, value) in node.entries.items():
        path = f"budget.{region}"
        if regions and region not in regions:
            c.error(key_pos, path, f"unknown region {region!r} (target.regions has: {', '.join(regions)})")
            ok = False
            continue
        size = c.size(value, path, *rules.bounds(path))
        if size is None:
            ok = False
            continue
        if region in regions and size > regions[region]:
            c.error(value.position, path, f"budget {size} B is larger than region {region!r} ({regions[region]} B)")
            ok = False
            continue
        budget[region] = size
    return budget if ok else None


def _crypto(c: _Checker, node: Optional[YNode]) -> Optional[Crypto]:
    if node is None:
        return None
    m = c.mapping(node, "crypto", *rules.keys("crypto"))
    aead = c.choice(c.child(m, "aead"), "crypto.aead", rules.choices("crypto.aead"))
    family = rules.family_of(aead) if aead is not None else None
    tag_node = c.child(m, "tag_size")
    tag_size = c.integer(tag_node, "crypto.tag_size", *rules.bounds("crypto.tag_size"))
    if tag_size is not None and family is not None and tag_size not in family.tag_sizes and tag_node is not None:
        c.error(tag_node.position, "crypto.tag_size", f"{aead} takes {family.tags} (got {tag_size})")
        tag_size = None
    nonce_node = c.child(m, "nonce")
    nm = c.mapping(nonce_node, "crypto.nonce", *rules.keys("crypto.nonce")) if nonce_node is not None else None
    fixed = c.integer(c.child(nm, "fixed_size"), "crypto.nonce.fixed_size", *rules.bounds("crypto.nonce.fixed_size"))
    counter_node = c.child(nm, "counter_size")
    counter = c.integer(counter_node, "crypto.nonce.counter_size", *rules.bounds("crypto.nonce.counter_size"))
    sizes = family.nonce_sizes if family is not None else ()
    if fixed is not None and counter is not None and sizes and fixed + counter not in sizes and nonce_node is not None:
        assert family is not None
        c.error(
            nonce_node.position,
            "crypto.nonce",
            f"fixed_size + counter_size must be {family.nonces}, the {aead} nonce (got {fixed} + {counter} = {fixed + counter})",
        )
        fixed = None
    # The last counter value is never used, so a key seals at most counter_max messages.
    messages_low, messages_high = rules.bounds("crypto.rotation.max_messages")
    counter_max = rules.counter_max(counter) if counter is not None else messages_high
    reserve_low, reserve_high = rules.bounds("crypto.nonce.reserve")
    reserve = c.integer(c.child(nm, "reserve"), "crypto.nonce.reserve", reserve_low, min(counter_max, reserve_high))
    rotation_node = c.child(m, "rotation")
    rm = c.mapping(rotation_node, "crypto.rotation", *rules.keys("crypto.rotation")) if rotation_node is not None else None
    max_messages = c.integer(c.child(rm, "max_messages"), "crypto.rotation.max_messages", messages_low, min(counter_max, messages_high))
    max_age_s = c.integer(c.child(rm, "max_age_s"), "crypto.rotation.max_age_s", *rules.bounds("crypto.rotation.max_age_s"))
    violations = c.integer(c.child(m, "max_security_violations"), "crypto.max_security_violations",
                           *rules.bounds("crypto.max_security_violations"))
    window_node = c.child(m, "replay_window")
    window = c.integer(window_node, "crypto.replay_window", *rules.bounds("crypto.replay_window")) if window_node is not None else 0
    aes_tables, gcm_table = _tables(c, c.child(m, "tables"), aead)
    values = (aead, tag_size, fixed, counter, reserve, max_messages, max_age_s, violations, window, aes_tables, gcm_table)
    if any(v is None for v in values):
        return None
    assert aead is not None
    return Crypto(aead, AEADS[aead].key_bits, tag_size, fixed, counter, reserve, max_messages, max_age_s,  # type: ignore[arg-type]
                  violations, window, aes_tables, gcm_table)  # type: ignore[arg-type]


def _tables(c: _Checker, node: Optional[YNode], aead: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """crypto.tables: (aes, gcm), each defaulted; a table the AEAD does not use is an error, not a silent no-op."""
    if node is None:
        return DEFAULT_AES_TABLES, DEFAULT_GCM_TABLE
    m = c.mapping(node, "crypto.tables", *rules.keys("crypto.tables"))
    found: List[Optional[str]] = []
    for key, default, used_by in (("aes", DEFAULT_AES_TABLES, ("gcm", "ccm")), ("gcm", DEFAULT_GCM_TABLE, ("gcm",))):
        value_node = c.child(m, key)
        if value_node is None:
            found.append(default if m is not None else None)
            continue
        value = c.choice(value_node, f"crypto.tables.{key}", rules.choices(f"crypto.tables.{key}"))
        if value is not None and aead is not None and AEADS[aead].family not in used_by:
            c.error(value_node.position, f"crypto.tables.{key}", f"{aead} has no {key.upper()} tables; remove this key")
            value = None
        found.append(value)
    return found[0], found[1]


def _pools(c: _Checker, node: Optional[YNode], region_ref: Callable[[Optional[YNode], str], str], crypto: Optional[Crypto]) -> Optional[List[PoolSpec]]:
    if node is None:
        return None
    if not isinstance(node, YList):
        c.error(node.position, "pools", f"must be a list of pools (got {_describe(node)})")
        return None
    if not node.items:
        c.error(node.position, "pools", "must list at least one pool")
        return None
    pools_rule = rules.at("pools")
    assert isinstance(pools_rule, rules.ListOf) and pools_rule.max_items is not None
    if len(node.items) > pools_rule.max_items:
        c.error(node.position, "pools", f"at most {pools_rule.max_items} pools (got {len(node.items)})")
        return None
    pools: List[PoolSpec] = []
    names: Dict[str, int] = {}
    ok = True
    for index, item in enumerate(node.items):
        path = f"pools[{index}]"
        m = c.mapping(item, path, *rules.keys(path))
        name_node = c.child(m, "name")
        name = c.identifier(name_node, f"{path}.name", NAME_RE, "a pool name")
        if name is not None and name_node is not None:
            if name in names:
                c.error(name_node.position, f"{path}.name", f"duplicate pool name {name!r} (also pools[{names[name]}])")
                name = None
            else:
                names[name] = index
        block_node = c.child(m, "block_size")
        block_size = c.size(block_node, f"{path}.block_size", *rules.bounds(f"{path}.block_size"))
        multiple = rules.multiple(f"{path}.block_size")
        if block_size is not None and block_node is not None and block_size % multiple != 0:
            # Pools wipe and check blocks 8 bytes at a time, and blocks hold any scalar type.
            c.error(block_node.position, f"{path}.block_size", f"must be a multiple of {multiple} (got {block_size})")
            block_size = None
        count_node = c.child(m, "count")
        count = c.integer(count_node, f"{path}.count", *rules.bounds(f"{path}.count"))
        most = limits.REGION_SIZE_MAX.value
        if count is not None and block_size is not None and count_node is not None and count * block_size > most:
            c.error(count_node.position, f"{path}.count", f"{count} blocks of {block_size} B are {count * block_size} B, more than a 32-bit "
                                                          f"size holds ({most} B): a Cortex-M core cannot address the array")
            count = None
        usage = _usage(c, c.child(m, "usage"), f"{path}.usage")
        if usage is not None and block_size is not None and crypto is not None:
            usage_node = c.child(m, "usage")
            assert usage_node is not None
            key_bytes = crypto.key_bits // 8
            if "key" in usage and block_size < key_bytes:
                c.error(
                    usage_node.position, f"{path}.usage", f"a key pool needs blocks of at least {key_bytes} B for {crypto.aead} (block_size is {block_size})"
                )
                usage = None
            elif "nonce" in usage and block_size < crypto.nonce_size:
                c.error(usage_node.position, f"{path}.usage",
                        f"a nonce pool needs blocks of at least {crypto.nonce_size} B (block_size is {block_size})")
                usage = None
        region = region_ref(c.child(m, "region"), f"{path}.region")
        detect_node = c.child(m, "detect_write_after_free")
        # On by default where a stale write could leak or plant key material.
        detect = c.boolean(detect_node, f"{path}.detect_write_after_free") if detect_node is not None else _holds_secrets(usage)
        if None in (name, block_size, count, usage, detect) or m is None:
            ok = False
            continue
        pools.append(PoolSpec(name, block_size, count, usage, region, index, detect))  # type: ignore[arg-type]
    return pools if ok else None


def _holds_secrets(usage: Optional[Tuple[str, ...]]) -> bool:
    """The default of pools[].detect_write_after_free: pools that may hold keys or nonces."""
    return usage is not None and ("key" in usage or "nonce" in usage)


def _generated_name_clashes(c: _Checker, pools: List[PoolSpec], regions: Dict[str, int], positions: Dict[str, Position]) -> None:
    """Pool and region names are pasted into C++ and linker symbol names (names.py: pool_<name>_storage,
    <region>_used, __memplan_<profile>_pool_state_<name>_start, ...): no such name may be reserved or a
    library macro, and two different names must never paste into the same symbol."""
    cpp: Dict[str, str] = {n: "the generated header" for n in (*names.FIXED_CPP_NAMES, *names.FIXED_CONFIG_NAMES, *names.FIXED_ABI_NAMES)}
    linker: Dict[str, str] = {names.linker_part(o): o.replace("_", " ").replace(".", " ") for o in names.FIXED_OBJECTS}
    owners: List[Tuple[str, str, Tuple[str, ...], Tuple[str, ...]]] = [
        (f"target.regions.{r}", f"region {r!r}", names.region_cpp_names(r), (r,)) for r in regions
    ]
    owners += [
        (f"pools[{p.index}].name", f"pools[{p.index}] ({p.name!r})", names.pool_cpp_names(p.name), names.pool_linker_parts(p.name))
        for p in pools
    ]
    for path, owner, cpp_names, linker_names in owners:
        bad = next((n for n in cpp_names if RESERVED_IDENTIFIER.search(n) or n in LIBRARY_MACROS), None)
        if bad is not None:
            why = "a library macro" if bad in LIBRARY_MACROS else "an identifier C++ reserves (a double underscore, or _ and a capital)"
            c.error(positions.get(path), path, f"generates the C++ name '{bad}', {why}; rename it")
            continue
        clash = next(((n, cpp[n]) for n in cpp_names if n in cpp), None) or next(((n, linker[n]) for n in linker_names if n in linker), None)
        if clash is not None:
            c.error(positions.get(path), path, f"generates the symbol name '{clash[0]}', which {clash[1]} also uses; rename one of them")
            continue
        cpp.update((n, owner) for n in cpp_names)
        linker.update((n, owner) for n in linker_names)


def _usage(c: _Checker, node: Optional[YNode], path: str) -> Optional[Tuple[str, ...]]:
    if node is None:
        return None
    if not isinstance(node, YList) or not node.items:
        c.error(node.position, path, f"must be a non-empty list of: {', '.join(rules.choices(path))}")
        return None
    seen: List[str] = []
    ok = True
    for i, item in enumerate(node.items):
        value = c.choice(item, f"{path}[{i}]", rules.choices(path))
        if value is None:
            ok = False
        elif value in seen:
            c.error(item.position, f"{path}[{i}]", f"duplicate usage {value!r}")
            ok = False
        else:
            seen.append(value)
    return tuple(seen) if ok else None


def _positions(root: YMap) -> Dict[str, Position]:
    """Key path -> position of its value, for errors found after validation (budgets)."""
    found: Dict[str, Position] = {}

    def walk(node: YNode, path: str) -> None:
        found[path] = node.position
        if isinstance(node, YMap):
            for key, (_, value) in node.entries.items():
                walk(value, _join(path, key))
        elif isinstance(node, YList):
            for i, item in enumerate(node.items):
                walk(item, f"{path}[{i}]")

    walk(root, "")
    return found


def _description_problem(description: str) -> Optional[str]:
    """The description is printed in the header's `//` comment and the linker fragment's `/* */` one."""
    surrogate = _SURROGATE_RE.search(description)
    if surrogate:
        return f"has a lone surrogate ({ascii(surrogate.group())}), which no UTF-8 file can hold"
    if description.rstrip(" \t").endswith("\\"):
        return "must not end with a backslash: it would continue the generated header's comment onto the next line"
    if "*/" in description:
        return "must not contain '*/': it would end the linker fragment's comment"
    return None


def _profile_name(c: _Checker, root: YMap) -> Optional[str]:
    name_node = c.child(root, "name")
    name = c.identifier(name_node, "name", NAME_RE, "a profile name")
    if name is not None and RESERVED_NAME_RE.search(name):
        c.error(_position_of(name_node, root.position), "name", f"{name!r} is reserved (a double underscore, or mbedTLS's prefix)")
        name = None
    if name is not None and name in rules.RUNTIME_NAMES:
        c.error(_position_of(name_node, root.position), "name", f"{name!r} is a name the memplan runtime already uses")
        name = None
    if name is not None and name in rules.HEADER_NAMES:
        c.error(_position_of(name_node, root.position), "name", f"{name!r} is reserved by the generated header")
        name = None
    if name is not None and name in LIBRARY_MACROS:
        c.error(_position_of(name_node, root.position), "name",
                f"{name!r} is a macro of the C or C++ library (glibc, newlib): as a namespace name it would not compile")
        name = None
    return name


def load_profile_name(path: str) -> str:
    """The profile's name, read and checked by the same rules as a full validation, without
    requiring the rest of the profile to be valid (the build reports the rest when it generates)."""
    tree, _ = load_file(path)
    c = _Checker(path)
    if not isinstance(tree, YMap):
        c.error(tree.position, "<document>", f"must be a mapping (got {_describe(tree)})")
        raise ProfileError(c.errors)
    name = _profile_name(c, tree)
    if name is None:
        if not c.errors:
            c.error(tree.position, "name", "missing (a profile needs a name)")
        raise ProfileError(c.errors)
    return name


def load_profile(path: str) -> Tuple[Profile, bytes]:
    """Loads and validates one profile file; returns the profile and the bytes read."""
    tree, data = load_file(path)
    return validate(tree, path), data
