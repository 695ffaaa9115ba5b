"""Reads the sizing statistics a firmware printed (memplan/statistics_dump.hpp).

A dump is a block of lines in a log that holds other output too (a serial
console, QEMU's semihosting, a test runner's capture):

    memplan-statistics 1 layout=<profile name>
    pool name=<name> block_size=<B> block_count=<n> in_use=<n> high_water=<n>
         overflow_high_water=<n> failures=<n> spills=<n> largest_request=<B>
         request_sizes=<8 counts>                      (one line, per pool)
    sessions count=<n> high_water=<n> key_slots=<n> key_slots_high_water=<n>
    memplan-statistics end

docs/statistics.md is the contract. A log is untrusted input: its size is
capped, FIFOs and folders are refused, every number is bounded, and a
block that is truncated, interleaved with other output, or inconsistent
(a high water above the blocks, a request larger than the block) is an
error naming its line, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from memplan import rules
from memplan.input_file import NotARegularFile, TooLarge, read_bounded

FORMAT = 1
MAX_LOG_BYTES = 64 << 20  # a long serial capture; a dump itself is a few hundred bytes
REQUEST_SIZE_BUCKETS = 8  # kRequestSizeBuckets
MAX_VALUE = (1 << 32) - 1  # the runtime's counters are 32-bit

HEADER = "memplan-statistics"
END = "memplan-statistics end"
_NAME = re.compile(rules.NAME_PATTERN)
_NUMBER = re.compile(r"[0-9]{1,10}")
_POOL_FIELDS = ("name", "block_size", "block_count", "in_use", "high_water", "overflow_high_water", "failures", "spills",
                "largest_request", "request_sizes")
_SESSION_FIELDS = ("count", "high_water", "key_slots", "key_slots_high_water")


class DumpError(Exception):
    """A log that holds no readable dump; `where` is FILE or FILE:LINE."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where


@dataclass(frozen=True)
class PoolUsage:
    name: str
    block_size: int
    block_count: int
    in_use: int
    high_water: int
    overflow_high_water: int
    failures: int
    spills: int
    largest_request: int
    request_sizes: Tuple[int, ...]

    @property
    def demand(self) -> int:
        """The most requests for this class outstanding at once: its blocks in use and those beyond them."""
        return self.high_water + self.overflow_high_water


@dataclass(frozen=True)
class SessionUsage:
    count: int
    high_water: int
    key_slots: int
    key_slots_high_water: int


@dataclass(frozen=True)
class Dump:
    where: str  # FILE:LINE of its first line
    layout: str
    pools: Tuple[PoolUsage, ...]
    sessions: SessionUsage


def read_dumps(path: str) -> List[Dump]:
    """Every dump in the log at `path`, in order; raises OSError or DumpError."""
    try:
        data = read_bounded(path, MAX_LOG_BYTES)
    except NotARegularFile:
        raise DumpError(path, "not a regular file") from None
    except TooLarge:
        raise DumpError(path, f"larger than {MAX_LOG_BYTES >> 20} MiB: cut the log down to its dumps") from None
    # The rest of a log may be anything; a dump's own lines are checked to be ASCII.
    return parse_dumps(path, data.decode("utf-8", "surrogateescape"))


def parse_dumps(path: str, text: str) -> List[Dump]:
    dumps: List[Dump] = []
    lines = text.split("\n")
    if lines[-1] == "":  # the last line's break ends it; it starts no empty line
        lines.pop()
    number = 0
    while number < len(lines):
        line = lines[number].rstrip("\r")
        number += 1
        if line == HEADER or line.startswith(HEADER + " "):
            dump, number = _block(path, lines, number)
            dumps.append(dump)
    if not dumps:
        raise DumpError(path, f"no memplan statistics: no line starts '{HEADER} {FORMAT}' "
                              "(print them with memplan::print_statistics, docs/statistics.md)")
    return dumps


def _block(path: str, lines: List[str], number: int) -> Tuple[Dump, int]:
    """The dump whose header is line `number` (1-based); returns it and the line number after its end."""
    where = f"{path}:{number}"
    header = lines[number - 1].rstrip("\r").split(" ")
    if len(header) < 2 or not _NUMBER.fullmatch(header[1]):
        raise DumpError(where, f"expected '{HEADER} {FORMAT} layout=NAME'")
    if int(header[1]) != FORMAT:
        raise DumpError(where, f"statistics format {header[1]}: this memplan reads format {FORMAT} (a newer runtime wrote it?)")
    fields = _fields(where, header[2:], ("layout",))
    layout = fields["layout"]
    if not _NAME.fullmatch(layout) or len(layout) > rules.MAX_NAME:
        raise DumpError(where, f"layout {layout[:80]!r} is not a profile name")
    pools: Dict[str, PoolUsage] = {}
    sessions: Optional[SessionUsage] = None
    while number < len(lines):
        line = lines[number].rstrip("\r")
        number += 1
        at = f"{path}:{number}"
        if not line.isascii() or not line.isprintable():
            raise DumpError(at, "a dump's line holds a character the runtime never prints (other output interleaved?)")
        words = line.split(" ")
        if line == END:
            if not pools or sessions is None:
                raise DumpError(at, "the dump ends before its pool and sessions lines")
            return Dump(where, layout, tuple(pools.values()), sessions), number
        if words[0] == "pool":
            if sessions is not None:
                raise DumpError(at, "a pool line after the sessions line")
            pool = _pool(at, _fields(at, words[1:], _POOL_FIELDS))
            if pool.name in pools:
                raise DumpError(at, f"pool {pool.name} is in the dump twice")
            pools[pool.name] = pool
        elif words[0] == "sessions":
            if sessions is not None:
                raise DumpError(at, "the sessions line is in the dump twice")
            sessions = _sessions(at, _fields(at, words[1:], _SESSION_FIELDS))
        elif line == HEADER or line.startswith(HEADER + " "):
            raise DumpError(at, f"a new dump starts before the one at line {where.rsplit(':', 1)[1]} ended")
        else:
            raise DumpError(at, f"expected a pool line, the sessions line or '{END}' (other output interleaved?)")
    raise DumpError(where, f"the dump is cut short: no '{END}' line follows it")


def _fields(where: str, words: List[str], expected: Tuple[str, ...]) -> Dict[str, str]:
    fields: Dict[str, str] = {}
    for word in words:
        key, separator, value = word.partition("=")
        if not separator:
            raise DumpError(where, f"expected KEY=VALUE, got {word[:80]!r}")
        if key not in expected:
            raise DumpError(where, f"unknown field {key[:80]!r} (format {FORMAT} has {', '.join(expected)})")
        if key in fields:
            raise DumpError(where, f"field {key} is given twice")
        fields[key] = value
    missing = [key for key in expected if key not in fields]
    if missing:
        raise DumpError(where, f"missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    return fields


def _count(where: str, key: str, text: str) -> int:
    if not _NUMBER.fullmatch(text) or int(text) > MAX_VALUE:
        raise DumpError(where, f"{key}={text[:80]}: expected a count from 0 to {MAX_VALUE}")
    return int(text)


def _pool(where: str, fields: Dict[str, str]) -> PoolUsage:
    name = fields["name"]
    if not _NAME.fullmatch(name) or len(name) > rules.MAX_NAME:
        raise DumpError(where, f"name={name[:80]}: not a pool name")
    numbers = {key: _count(where, key, fields[key]) for key in _POOL_FIELDS[1:-1]}
    buckets = fields["request_sizes"].split(",")
    if len(buckets) != REQUEST_SIZE_BUCKETS:
        raise DumpError(where, f"request_sizes: expected {REQUEST_SIZE_BUCKETS} counts, got {len(buckets)}")
    sizes = tuple(_count(where, "request_sizes", bucket) for bucket in buckets)
    pool = PoolUsage(name, request_sizes=sizes, **numbers)
    problem = _inconsistency(pool)
    if problem:
        raise DumpError(where, f"pool {name}: {problem}: not statistics the runtime keeps")
    return pool


def _inconsistency(p: PoolUsage) -> Optional[str]:
    if p.block_size == 0 or p.block_count == 0:
        return "a class without blocks"
    if p.high_water > p.block_count:
        return f"high_water {p.high_water} is more than its {p.block_count} blocks"
    if p.in_use > p.high_water:
        return f"in_use {p.in_use} is more than high_water {p.high_water}"
    if p.largest_request > p.block_size:
        return f"largest_request {p.largest_request} B does not fit its {p.block_size} B blocks"
    if (p.largest_request == 0) != (sum(p.request_sizes) == 0):
        return "largest_request and request_sizes disagree on whether a request was made"
    if p.overflow_high_water > p.spills + p.failures:
        return f"overflow_high_water {p.overflow_high_water} is more than its spills and failures"
    return None


def _sessions(where: str, fields: Dict[str, str]) -> SessionUsage:
    usage = SessionUsage(**{key: _count(where, key, fields[key]) for key in _SESSION_FIELDS})
    if usage.count == 0 or usage.key_slots == 0:
        raise DumpError(where, "a table without sessions or key slots: not statistics the runtime keeps")
    if usage.high_water > usage.count or usage.key_slots_high_water > usage.key_slots:
        raise DumpError(where, "a high water above the sessions or key slots there are: not statistics the runtime keeps")
    return usage
