"""memplan fit: the counts and block sizes that would have served the recorded peaks.

From dumps of the runtime's sizing statistics (statistics_dump.py), several
runs or devices combined by taking each peak's maximum, fit proposes for
each pool class
  - blocks: its peak demand (blocks in use plus requests beyond them, spilled
    or failed) with the margin, rounded up;
  - a block size: the largest request it was the first fit for, rounded up
    to the block multiple, where that is smaller than its blocks;
and for the table, sessions and key slots from their high waters with the
margin. A class, sessions or key slots no dump exercised keep their numbers:
absence of use in a run is not proof of no use.

The proposal is the profile's own text with those numbers replaced (comments,
order and layout stay), validated and planned like any profile, so the RAM
it frees or needs per region comes from the same planner as `generate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Set, Tuple

from memplan import rules
from memplan.diagnostics import Position, ProfileError
from memplan.loader import LINE_BREAK, load_text
from memplan.model import PoolSpec, Profile
from memplan.planner import Plan, plan
from memplan.statistics_dump import Dump, PoolUsage
from memplan.validator import validate

MAX_MARGIN_PERCENT = 1000
_BLOCK_MULTIPLE = rules.multiple("pools[0].block_size")
_PLAIN_SCALAR = re.compile(r"[^,\]}#\n\r\x85\u2028\u2029]*[^\s,\]}#]")  # a size may hold spaces: "4 KiB"
_QUOTED_SCALAR = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")


class FitError(Exception):
    """Dumps that do not describe this profile's layout; `where` is the file at fault."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where


@dataclass(frozen=True)
class PoolFit:
    name: str
    block_size: int
    count: int
    new_block_size: int
    new_count: int
    demand: int  # the most requests for the class outstanding at once, over every dump
    largest_request: int
    request_sizes: Tuple[int, ...]  # summed over every dump
    failures: int
    spills: int

    @property
    def exercised(self) -> bool:
        return self.demand > 0


@dataclass(frozen=True)
class CountFit:
    name: str  # sessions, key_slots
    count: int
    high_water: int
    new_count: int


@dataclass(frozen=True)
class RegionFit:
    name: str
    size: int
    budget: int
    used: int
    new_used: Optional[int]  # None: the proposal is not a valid profile, so it has no plan


@dataclass(frozen=True)
class Fit:
    profile: Profile
    dumps: int
    margin_percent: int
    pools: Tuple[PoolFit, ...]
    sessions: CountFit
    key_slots: CountFit
    regions: Tuple[RegionFit, ...]
    text: str  # the proposed profile
    problems: Tuple[str, ...]  # the proposal's validation or budget errors (then it cannot be applied)


def with_margin(peak: int, margin_percent: int) -> int:
    """The peak with the margin, rounded up: ceil(peak * (100 + margin) / 100), in integers."""
    return -(-peak * (100 + margin_percent) // 100)


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def fit(profile: Profile, text: str, dumps: Sequence[Dump], margin_percent: int,
        keep_block_sizes: Set[str], keep_all_block_sizes: bool = False) -> Fit:
    """Raises FitError when a dump is of another layout."""
    _check_dumps(profile, dumps)
    unknown = sorted(keep_block_sizes - {p.name for p in profile.pools})
    if unknown:
        raise FitError("memplan", f"--keep-block-size {unknown[0]}: profile {profile.name} has no pool {unknown[0]!r}")
    pools = tuple(_fit_pool(spec, profile, [next(p for p in d.pools if p.name == spec.name) for d in dumps], margin_percent,
                            keep_all_block_sizes or spec.name in keep_block_sizes)
                  for spec in profile.pools)
    sessions = _fit_count("sessions", profile.sessions.count, max(d.sessions.high_water for d in dumps), margin_percent)
    key_slots = _fit_count("key_slots", profile.sessions.key_slots,
                           max(d.sessions.key_slots_high_water for d in dumps), margin_percent)
    replacements: Dict[str, int] = {"sessions.count": sessions.new_count, "sessions.key_slots": key_slots.new_count}
    for spec, pool in zip(profile.pools, pools):
        replacements[f"pools[{spec.index}].count"] = pool.new_count
        replacements[f"pools[{spec.index}].block_size"] = pool.new_block_size
    new_text = _replace_values(text, profile, replacements)
    problems: List[str] = []
    new_plan: Optional[Plan] = None
    try:
        proposal = validate(load_text(new_text, profile.path), profile.path)
        # The text says what was proposed, or the edit went wrong: never print a profile that differs from the reading.
        misread = [path for path, value in _numbers(proposal).items() if replacements[path] != value]
        if misread:  # pragma: no cover - each value is a whole scalar the loader read
            raise FitError(profile.path, f"{misread[0]}: the proposal's text does not hold the proposed value")
        new_plan = plan(proposal)
    except ProfileError as exc:
        problems = [f"{d.path + ': ' if d.path else ''}{d.message}" for d in exc.diagnostics]
    old_plan = plan(profile)
    regions = []
    for region in old_plan.regions:
        new_used = next((r.used for r in new_plan.regions if r.name == region.name), 0) if new_plan else None
        regions.append(RegionFit(region.name, region.size, region.budget, region.used, new_used))
    return Fit(profile, len(dumps), margin_percent, pools, sessions, key_slots, tuple(regions), new_text, tuple(problems))


def _check_dumps(profile: Profile, dumps: Sequence[Dump]) -> None:
    if not dumps:
        raise FitError("memplan", "no dumps to fit from")
    expected = {p.name: p.block_size for p in profile.pools}
    for dump in dumps:
        if dump.layout != profile.name:
            raise FitError(dump.where, f"a dump of layout {dump.layout}, not of profile {profile.name} ({profile.path})")
        found = {p.name: p.block_size for p in dump.pools}
        for name, block_size in expected.items():
            if name not in found:
                raise FitError(dump.where, f"no pool {name}: the dump is of another version of profile {profile.name}")
            if found[name] != block_size:
                raise FitError(dump.where, f"pool {name} has {found[name]} B blocks there, {block_size} B in {profile.path}: "
                                           "its requests were sized for other classes; fit from dumps of this profile")
        extra = sorted(set(found) - set(expected))
        if extra:
            raise FitError(dump.where, f"pool {extra[0]} is not in {profile.path}: the dump is of another version of the profile")


def _smallest_block(usage: Sequence[str], profile: Profile) -> int:
    """The validator's floor for a class's blocks (a key pool holds a key, a nonce pool a nonce)."""
    floor = _BLOCK_MULTIPLE
    if "key" in usage:
        floor = max(floor, profile.crypto.key_bits // 8)
    if "nonce" in usage:
        floor = max(floor, profile.crypto.nonce_fixed_size + profile.crypto.nonce_counter_size)
    return round_up(floor, _BLOCK_MULTIPLE)


def _fit_pool(spec: PoolSpec, profile: Profile, seen: List[PoolUsage], margin_percent: int, keep_block_size: bool) -> PoolFit:
    demand = max(p.demand for p in seen)
    largest = max(p.largest_request for p in seen)
    sizes = tuple(sum(p.request_sizes[k] for p in seen) for k in range(len(seen[0].request_sizes)))
    new_count = with_margin(demand, margin_percent) if demand > 0 else spec.count
    new_block_size = spec.block_size
    if largest > 0 and not keep_block_size:
        new_block_size = min(spec.block_size, max(round_up(largest, _BLOCK_MULTIPLE), _smallest_block(spec.usage, profile)))
    return PoolFit(spec.name, spec.block_size, spec.count, new_block_size, new_count, demand, largest, sizes,
                   sum(p.failures for p in seen), sum(p.spills for p in seen))


def _fit_count(name: str, count: int, high_water: int, margin_percent: int) -> CountFit:
    return CountFit(name, count, high_water, with_margin(high_water, margin_percent) if high_water > 0 else count)


def _line_starts(text: str) -> List[int]:
    """Offsets of each line's first character, counting line breaks as YAML does (the loader's positions)."""
    return [0] + [match.end() for match in LINE_BREAK.finditer(text)]


def _replace_values(text: str, profile: Profile, values: Dict[str, int]) -> str:
    """The text with the scalar at each key path replaced by its number (unchanged ones left as written)."""
    starts = _line_starts(text)
    current = _numbers(profile)
    edits: List[Tuple[int, int, str]] = []
    for path, value in values.items():
        position: Optional[Position] = profile.positions.get(path)
        if position is None:  # pragma: no cover - a validated profile has every key fit replaces
            raise FitError(profile.path, f"{path}: not found in the profile")
        offset = starts[position.line - 1] + position.column - 1
        match = (_QUOTED_SCALAR if text[offset:offset + 1] in "'\"" else _PLAIN_SCALAR).match(text, offset)
        if match is None:  # pragma: no cover - the loader read a scalar here
            raise FitError(profile.path, f"{path}: cannot find its value at line {position.line}")
        if current[path] != value:
            edits.append((match.start(), match.end(), str(value)))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _numbers(profile: Profile) -> Dict[str, int]:
    """Key path -> value of every number fit may replace."""
    numbers = {"sessions.count": profile.sessions.count, "sessions.key_slots": profile.sessions.key_slots}
    for pool in profile.pools:
        numbers[f"pools[{pool.index}].count"] = pool.count
        numbers[f"pools[{pool.index}].block_size"] = pool.block_size
    return numbers
