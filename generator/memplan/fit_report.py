"""What `memplan fit` prints: the reading of the dumps as comment lines, then the
proposal as a unified diff of the profile (`git apply` or `patch -p1` take it;
both skip the comment lines before the diff)."""

from __future__ import annotations

import difflib
from typing import List

from memplan.fit import Fit, PoolFit

# The runtime's histogram buckets: bucket k holds sizes above block >> (k + 1), up to block >> k.
_BUCKETS = (">1/2", ">1/4", ">1/8", ">1/16", ">1/32", ">1/64", ">1/128", "<=1/128")


def _bytes(value: int) -> str:
    return f"{value:,} B"


def _pool_line(p: PoolFit) -> List[str]:
    head = f"pool {p.name}: {p.count} x {_bytes(p.block_size)}"
    if not p.exercised:
        return [f"{head}: no request in any dump; kept (remove it by hand if the runs covered every path)"]
    proposal = f"{p.new_count} x {_bytes(p.new_block_size)}"
    largest = f"largest request {_bytes(p.largest_request)}" if p.largest_request else "no sized request (whole blocks only)"
    lines = [f"{head}: peak {p.demand} at once, {largest} -> {proposal}"]
    if p.largest_request:
        shares = ", ".join(f"{label}: {n}" for label, n in zip(_BUCKETS, p.request_sizes) if n)
        lines.append(f"  requests by share of the block used: {shares}")
    if p.failures or p.spills:
        lines.append(f"  the runs saw {p.failures} allocation failure(s) and {p.spills} spill(s) here: "
                     "counted in the peak, which the proposal serves")
    return lines


def render(result: Fit, old_text: str, display_path: str) -> str:
    profile = result.profile
    dumps = f"{result.dumps} dump{'s' if result.dumps != 1 else ''}"
    lines = [f"memplan fit: profile {profile.name} ({display_path}) from {dumps}, margin {result.margin_percent}%"]
    for pool in result.pools:
        lines.extend(_pool_line(pool))
    for count in (result.sessions, result.key_slots):
        label = count.name.replace("_", " ")
        if count.high_water == 0:
            lines.append(f"{label}: {count.count}, none held in any dump; kept")
        else:
            lines.append(f"{label}: {count.count}, peak {count.high_water} at once -> {count.new_count}")
    for region in result.regions:
        if region.new_used is None:
            lines.append(f"region {region.name}: layout {_bytes(region.used)} now; the proposal cannot be planned "
                         f"(budget {_bytes(region.budget)}, region {_bytes(region.size)})")
            continue
        delta = region.new_used - region.used
        change = "unchanged" if delta == 0 else (f"{_bytes(-delta)} freed" if delta < 0 else f"{_bytes(delta)} more needed")
        lines.append(f"region {region.name}: layout {_bytes(region.used)} -> {_bytes(region.new_used)} ({change}; "
                     f"budget {_bytes(region.budget)}, region {_bytes(region.size)})")
    for problem in result.problems:
        lines.append(f"error: the proposal is not a valid profile: {problem}")
    out = [f"# {line}\n" for line in lines]
    if result.text == old_text:
        out.append("# no change: the profile already serves every recorded peak with the margin\n")
        return "".join(out)
    diff = difflib.unified_diff(old_text.splitlines(keepends=True), result.text.splitlines(keepends=True),
                                f"a/{display_path}", f"b/{display_path}")
    out.extend(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in diff)
    return "".join(out)
