"""The shape of a profile, as data: every key, which are required, and each
value's type, range, choices or pattern.

The validator takes its keys, ranges and choices from here (by key path), and
`memplan schema` renders the JSON Schema for editors from the same tree
(schema.py; profiles/profile.schema.json is that output, golden-tested).
What a schema cannot say (a region reference naming a region, budgets
against regions, names that paste into the same symbol, key and nonce pools
big enough) the validator checks alone; `CROSS_CHECKS` lists it for the
schema's description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, Optional, Tuple, Union

from memplan import PROFILE_SCHEMA, limits
from memplan.model import AEADS, AES_TABLE_CHOICES, CORES, GCM_TABLE_CHOICES, USAGES
from memplan.reserved import CPP_KEYWORDS, LIBRARY_MACROS

# Profile and pool names become namespaces, directories and parts of C++
# names; region names are also the linker script's MEMORY names.
NAME_PATTERN = r"^[a-z_][a-z0-9_]*$"
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
SIZE_PATTERN = r"^\s*([0-9]+)\s*(B|KiB|MiB)?\s*$"
SIZE_UNITS = {None: 1, "B": 1, "KiB": 1024, "MiB": 1024 * 1024}
# One line, printed into a `//` comment of the header: no control characters, and no
# bidirectional controls (U+202A..U+202E, U+2066..U+2069), which make a comment read
# differently from what compiles.
DESCRIPTION_PATTERN = r"^[^\x00-\x08\x0a-\x1f\x7f\u202a-\u202e\u2066-\u2069]*$"
# Reserved for the implementation (C++ [lex.name]) and mbedTLS's own names.
RESERVED_NAME_PATTERN = r"__|^mbedtls_|^psa_"
# A profile name becomes `namespace memplan::<name>`: not a name the runtime
# declares in namespace memplan, nor one the header declares inside it.
RUNTIME_NAMES = frozenset({"std", "memplan", "detail", "abi", "to_string", "secure_wipe", "secure_wipe_aligned8", "usage_bit",
                           "init_layout", "mbedtls_calloc_calls", "posix_file_system"})
HEADER_NAMES = frozenset({"memory", "Memory", "config", "SessionSlot", "pools", "workspace", "sessions", "key_slots"})


@dataclass(frozen=True)
class Integer:
    low: int
    high: int
    description: str = ""
    powers_of_two: bool = False
    multiple: int = 1


@dataclass(frozen=True)
class Size:
    """Bytes: an integer, or a string with a unit (B, KiB, MiB)."""

    low: int
    high: int
    description: str = ""
    multiple: int = 1


@dataclass(frozen=True)
class Choice:
    choices: Tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class Name:
    pattern: str
    description: str = ""
    refused: FrozenSet[str] = frozenset()  # keywords, macros, names already taken
    refused_pattern: str = ""
    max_length: int = 0  # 0: MAX_NAME


@dataclass(frozen=True)
class Text:
    pattern: str
    description: str = ""


@dataclass(frozen=True)
class Boolean:
    description: str = ""


@dataclass(frozen=True)
class Constant:
    value: int
    description: str = ""


@dataclass(frozen=True)
class Mapping:
    keys: Dict[str, "Rule"]
    required: Tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class MappingOf:
    """Keys named by the profile (regions), each with the same value rule."""

    key: Name
    value: "Rule"
    min_entries: int = 0
    description: str = ""


@dataclass(frozen=True)
class ListOf:
    item: "Rule"
    min_items: int
    max_items: Optional[int] = None
    unique: bool = False
    description: str = ""


Rule = Union[Integer, Size, Choice, Name, Text, Boolean, Constant, Mapping, MappingOf, ListOf]

MAX_NAME = limits.NAME_LENGTH_MAX.value
REGION_SIZE = Size(1, limits.REGION_SIZE_MAX.value)
REGION_NAME = Name(IDENTIFIER_PATTERN, "A RAM region, named as in the linker script's MEMORY.")
ADDRESS = Integer(0, (1 << 32) - 4, "An address on the core: the linker script's ORIGIN, a multiple of 4.", multiple=4)
REGION_REFERENCE = Name(IDENTIFIER_PATTERN, "A region of target.regions (default: the first).")
POOL_NAME = Name(NAME_PATTERN, "Part of the pool's C++ names (pool_<name>, ...).", CPP_KEYWORDS)
PROFILE_NAME = Name(NAME_PATTERN, "C++ namespace memplan::<name> and output directory name.",
                    CPP_KEYWORDS | LIBRARY_MACROS | RUNTIME_NAMES | HEADER_NAMES, RESERVED_NAME_PATTERN)

SYMBOL_LENGTH_MAX = 1024  # mangled C++ names run to hundreds of characters
FUNCTION_NAME = Name(r"^[A-Za-z_][A-Za-z0-9_.$]*$", "A function's symbol, as the image's symbol table spells it (mangled, for C++).",
                     max_length=SYMBOL_LENGTH_MAX)
CALL_TARGET = Name(r"^([A-Za-z_][A-Za-z0-9_.$]*|\.[A-Za-z0-9_.]+|memplan-ports)$",
                   "A function, a section of function pointers (.init_array), or memplan-ports (every override of "
                   "memplan's ports in the image's vtables).", max_length=SYMBOL_LENGTH_MAX)
STACK_SIZE = Size(8, limits.REGION_SIZE_MAX.value, "Bytes, a multiple of 8 (AAPCS stack alignment).", 8)
INTERRUPTS_MAX = 496  # the NVIC's external interrupts, at most
THREADS_MAX = 64  # names.THREADS_MAX reserves each one's symbols

# The nonce: fixed field + counter = the AEAD's nonce; the counter's width bounds the messages per key.
NONCE_COUNTER_SIZES = tuple(range(limits.NONCE_COUNTER_MIN.value, limits.NONCE_COUNTER_MAX.value + 1))


@dataclass(frozen=True)
class AeadRules:
    """What one family of AEADs takes, and the runtime's backend for it."""

    nonce_sizes: Tuple[int, ...]
    tag_sizes: Tuple[int, ...]
    backend: str  # the C++ type; {nonce} is the profile's nonce length
    tags: str  # the tag rule in words, for errors

    @property
    def nonces(self) -> str:
        """The nonce rule in words, for errors."""
        sizes = self.nonce_sizes
        return f"{sizes[0]} bytes" if len(sizes) == 1 else f"{sizes[0]} to {sizes[-1]} bytes"


FAMILIES: Dict[str, AeadRules] = {
    "gcm": AeadRules((limits.NONCE_BYTES.value,), tuple(range(limits.GCM_TAG_MIN.value, limits.GCM_TAG_MAX.value + 1)),
                     "memplan::AesGcm", "tags of 12 to 16 bytes (SP 800-38D)"),
    "ccm": AeadRules(tuple(range(limits.CCM_NONCE_MIN.value, limits.CCM_NONCE_MAX.value + 1)),
                     tuple(range(limits.CCM_TAG_MIN.value, limits.TAG_MAX.value + 1, 2)),
                     "memplan::AesCcm<{nonce}>", "even tags of 4 to 16 bytes (SP 800-38C)"),
    "chachapoly": AeadRules((limits.NONCE_BYTES.value,), (limits.CHACHAPOLY_TAG.value,), "memplan::ChaCha20Poly1305",
                            "the full 16-byte tag only (RFC 8439)"),
}


def family_of(aead: str) -> AeadRules:
    return FAMILIES[AEADS[aead].family]


def counter_max(counter_size: int) -> int:
    """The counter values a key may use: the last value of the counter is never used."""
    return (1 << (8 * counter_size)) - 1


PROFILE = Mapping(
    {
        "schema": Constant(PROFILE_SCHEMA, "Profile schema version."),
        "name": PROFILE_NAME,
        "description": Text(DESCRIPTION_PATTERN, "One line, printed into the generated files' comments."),
        "target": Mapping(
            {
                "core": Choice(CORES),
                "cache_line": Integer(limits.CACHE_LINE_MIN.value, limits.CACHE_LINE_MAX.value,
                                      "Power of two; the alignment of hot structures.", powers_of_two=True),
                "regions": MappingOf(REGION_NAME, Mapping({"size": REGION_SIZE, "origin": ADDRESS}, ("size",)), 1,
                                     "RAM regions, named as in the linker script's MEMORY; with an origin, check-elf "
                                     "holds the image's MEMORY region to it."),
                "flash": Mapping({"origin": ADDRESS, "size": REGION_SIZE}, ("origin", "size"),
                                 "The part's flash, for the linker script memplan init writes."),
            },
            ("core", "cache_line", "regions"),
        ),
        "budget": MappingOf(REGION_REFERENCE, REGION_SIZE, 0,
                            "Bytes the layout may take per region (each key a region of target.regions)."),
        "pools": ListOf(
            Mapping(
                {
                    "name": POOL_NAME,
                    "block_size": Size(1, limits.BLOCK_SIZE_MAX.value, "Bytes per block.", limits.BLOCK_SIZE_MULTIPLE.value),
                    "count": Integer(1, limits.BLOCK_COUNT_MAX.value, "Blocks in the pool."),
                    "usage": ListOf(Choice(USAGES), 1, None, True, "What the pool's blocks may hold."),
                    "region": REGION_REFERENCE,
                    "detect_write_after_free": Boolean(
                        "Hand out a free block only after it reads as wiped: a write through a stale pointer is "
                        "counted as a security violation and wiped before the next owner sees it. Default: true "
                        "when usage includes key or nonce."),
                },
                ("name", "block_size", "count", "usage"),
            ),
            1, limits.POOLS_MAX.value, description="Fixed-block size classes.",
        ),
        "sessions": Mapping(
            {
                "count": Integer(1, limits.SESSIONS_MAX.value, "Session records."),
                "key_slots": Integer(1, limits.KEY_SLOTS_MAX.value, "Expanded keys (AEAD contexts)."),
                "region": REGION_REFERENCE,
            },
            ("count", "key_slots"),
        ),
        "workspace": Mapping(
            {
                "buffer_size": Size(limits.WORKSPACE_BUFFER_MULTIPLE.value, limits.WORKSPACE_BUFFER_MAX.value,
                                    "Bytes per buffer (five buffers), whole AES blocks.",
                                    limits.WORKSPACE_BUFFER_MULTIPLE.value),
                "region": REGION_REFERENCE,
            },
            ("buffer_size",),
        ),
        "crypto": Mapping(
            {
                "aead": Choice(tuple(AEADS)),
                "tag_size": Integer(limits.CCM_TAG_MIN.value, limits.TAG_MAX.value,
                                    "Tag bytes: AES-GCM 12 to 16, AES-CCM even 4 to 16, ChaCha20-Poly1305 16."),
                "nonce": Mapping(
                    {
                        "fixed_size": Integer(0, limits.CCM_NONCE_MAX.value - limits.NONCE_COUNTER_MIN.value,
                                              "Bytes of the device's fixed field."),
                        "counter_size": Integer(limits.NONCE_COUNTER_MIN.value, limits.NONCE_COUNTER_MAX.value,
                                                "Bytes of the counter; fixed_size + counter_size is the AEAD's nonce."),
                        "reserve": Integer(1, limits.NONCE_RESERVE_MAX.value,
                                           "Counter values reserved ahead in the nonce store (at most the counter's values)."),
                    },
                    ("fixed_size", "counter_size", "reserve"),
                    "fixed_size + counter_size is the AEAD's nonce: 12 bytes for AES-GCM and ChaCha20-Poly1305, "
                    "7 to 13 for AES-CCM.",
                ),
                "rotation": Mapping(
                    {
                        "max_messages": Integer(1, counter_max(limits.NONCE_COUNTER_MAX.value),
                                                "Messages per key; at most 2^(8 * counter_size) - 1."),
                        "max_age_s": Integer(1, limits.MAX_AGE_S_MAX.value, "Seconds per key."),
                    },
                    ("max_messages", "max_age_s"),
                ),
                "max_security_violations": Integer(1, limits.SECURITY_VIOLATIONS_MAX.value, "Failed opens before lockout."),
                "replay_window": Integer(
                    0, limits.REPLAY_WINDOW_MAX.value,
                    "Counters open() remembers per session: a counter seen before, or more than this far below the "
                    "highest seen, is refused (the sliding window of IPsec and DTLS). For sessions that receive from "
                    "one peer whose nonces are its fixed field and counter. Default 0: replay is the product's job."),
                "tables": Mapping(
                    {
                        "aes": Choice(AES_TABLE_CHOICES,
                                      "AES's lookup tables (AES-GCM, AES-CCM): const in flash or filled in RAM at init (RAM "
                                      "is faster where flash has wait states), compact (1.3 KiB: one round table, rotated "
                                      "per lookup) or full (4.3 KiB: four round tables, fewer instructions). Default "
                                      "flash-compact."),
                        "gcm": Choice(GCM_TABLE_CHOICES,
                                      "GHASH's table in each AES-GCM key slot: 4-bit (256 B) or 8-bit (4 KiB, "
                                      "MBEDTLS_GCM_LARGE_TABLE: fewer instructions per byte). Default 4-bit."),
                    },
                    (),
                    "mbedTLS's lookup tables: speed against RAM and flash. One mbedTLS build has one choice, so "
                    "the products linked into one build must agree.",
                ),
            },
            ("aead", "tag_size", "nonce", "rotation", "max_security_violations"),
        ),
        "stack": Mapping(
            {
                "size": STACK_SIZE,
                "region": REGION_REFERENCE,
                "entry": FUNCTION_NAME,
                "interrupts": ListOf(
                    Mapping({"function": FUNCTION_NAME,
                             "priority": Integer(0, 255, "Preemption priority: a lower number preempts a higher one.")},
                            ("function", "priority")),
                    0, INTERRUPTS_MAX, True, "Interrupt handlers: distinct priorities nest on the main stack."),
                "threads": ListOf(
                    Mapping({"function": FUNCTION_NAME, "size": STACK_SIZE, "region": REGION_REFERENCE}, ("function", "size")),
                    0, THREADS_MAX, True, "RTOS tasks, each with its own stack in the layout."),
                "calls": MappingOf(FUNCTION_NAME, ListOf(CALL_TARGET, 1, None, True), 0,
                                   "The targets of a function's calls through a pointer."),
                "recursion": MappingOf(FUNCTION_NAME, Integer(1, 1 << 20), 0, "How many times a function's recursion repeats."),
                "frames": MappingOf(FUNCTION_NAME, Size(0, limits.REGION_SIZE_MAX.value), 0,
                                    "A function's frame where the analysis cannot read it (alloca bounded in the code)."),
            },
            ("size",),
            "The main stack (reset path and interrupt handlers) and the threads' stacks, placed in the layout; "
            "check-elf holds each entry point's worst case to them. Entry default: Reset_Handler.",
        ),
    },
    ("schema", "name", "target", "budget", "pools", "sessions", "workspace", "crypto"),
)

# What the validator checks beyond the shape, for the schema's description.
CROSS_CHECKS = (
    "region references must name a key of target.regions",
    "every region holding part of the layout needs a budget no larger than the region",
    "pool names are unique and do not paste into a generated symbol another pool or region name also makes, "
    "nor into a reserved identifier or a library macro",
    "a key pool's blocks hold a whole key and a nonce pool's blocks a whole nonce",
    "size strings obey the same ranges as integers",
    "a description does not end in a backslash and holds no '*/' nor a lone surrogate",
    "crypto.tables.aes applies to the AES AEADs and crypto.tables.gcm to AES-GCM only",
    "a region or the flash ends below 4 GiB (origin + size), and none overlaps another",
    "YAML aliases, merge keys, custom tags, duplicate keys and YAML 1.1 number forms are refused",
)


def at(path: str) -> Rule:
    """The rule of a key path ('pools[3].count', 'target.regions.sram.size'); list
    indices and region names select the list's item and the mapping's value."""
    rule: Rule = PROFILE
    for part in re.findall(r"[^.\[\]]+|\[\d*\]", path):
        if isinstance(rule, ListOf) and part.startswith("["):
            rule = rule.item
        elif isinstance(rule, MappingOf):
            rule = rule.value
        elif isinstance(rule, Mapping) and part in rule.keys:
            rule = rule.keys[part]
        else:
            raise KeyError(path)
    return rule


def keys(path: str) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """(allowed, required) keys of the mapping at `path` ('' for the document)."""
    rule = PROFILE if path == "" else at(path)
    assert isinstance(rule, Mapping), path
    return tuple(rule.keys), rule.required


def bounds(path: str) -> Tuple[int, int]:
    """(low, high) of the integer or size at `path`."""
    rule = at(path)
    assert isinstance(rule, (Integer, Size)), path
    return rule.low, rule.high


def choices(path: str) -> Tuple[str, ...]:
    rule = at(path)
    if isinstance(rule, ListOf):
        rule = rule.item
    assert isinstance(rule, Choice), path
    return rule.choices


def multiple(path: str) -> int:
    rule = at(path)
    assert isinstance(rule, Size), path
    return rule.multiple
