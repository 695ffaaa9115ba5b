"""The planner places every byte: sizes, offsets, alignment and the cause of
every padding byte, for the target ABI and for the x86-64 host build."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Tuple

import pytest

from conftest import REPO, SHIPPED, VALID_PROFILE, Run
from memplan.diagnostics import ProfileError
from memplan.loader import load_text
from memplan.model import WORKSPACE_BUFFERS
from memplan.planner import Padding, Plan, RegionPlan, align_up, plan, summary
from memplan.target_abi import ABI_BY_CORE
from memplan.validator import load_profile, validate

HAND = """\
schema: 1
name: hand
target:
  core: cortex-m3
  cache_line: 64
  regions:
    ram: {size: 64KiB}
    fast: {size: 8KiB}
budget:
  ram: 32KiB
  fast: 4KiB
pools:
  - {name: big, block_size: 200, count: 3, usage: [message]}
  - {name: keys, block_size: 16, count: 33, usage: [key, nonce]}
  - {name: ctx, block_size: 40, count: 2, usage: [context], region: fast}
sessions: {count: 3, key_slots: 2}
workspace: {buffer_size: 48}
crypto:
  aead: aes-128-gcm
  tag_size: 16
  nonce: {fixed_size: 4, counter_size: 8, reserve: 16}
  rotation: {max_messages: 1000, max_age_s: 60}
  max_security_violations: 3
"""

LINE = "target.cache_line"


def plan_text(text: str, filename: str = "x.yaml") -> Plan:
    return plan(validate(load_text(text, filename), filename))


def rows(region: RegionPlan) -> List[Tuple[str, str, int, int, int, int]]:
    return [(o.object, o.key, o.offset, o.size, o.align, o.padding) for o in region.objects]


def test_hand_computed_layout() -> None:
    result = plan_text(HAND)
    # Pools are searched smallest block first; declaration order does not matter.
    assert [p.spec.name for p in result.pools] == ["keys", "ctx", "big"]
    keys = result.pools[0]
    assert keys.state_size == 332  # 33 blocks x (64-bit generation + 16-bit link), rounded up to 4
    assert keys.usage_mask == 0b0011 and keys.usage_mask_literal == "0x3u"
    assert result.pools[1].usage_mask == 0b1000 and result.pools[2].usage_mask == 0b0100
    assert keys.section == ".memplan.hand.pool.keys"
    assert keys.state_section == ".memplan.hand.pool_state.keys"
    assert (keys.storage_symbol, keys.state_symbol) == ("pool_keys_storage", "pool_keys_state")

    ram = result.region("ram")
    assert rows(ram) == [
        ("pool.keys", "pools[1]", 0, 16 * 33, 64, 0),
        ("pool.big", "pools[0]", 576, 200 * 3, 64, 48),  # 528 -> 576
        ("pool_state.keys", "pools[1].count", 1176, 332, 4, 0),
        ("pool_state.big", "pools[0].count", 1508, 32, 4, 0),  # 30 B rounded up to 4
        ("workspace", "workspace", 1600, 48 * 5, 64, 60),  # 1540 -> 1600
        ("sessions", "sessions", 1856, 64 * 3, 64, 16),  # 1840 -> 1856; 64 B records fill 64 B slots
        ("key_slots", "sessions.key_slots", 2048, 616 * 2, 64, 0),
    ]
    assert ram.used == 3280 and ram.budget == 32 * 1024 and ram.size == 64 * 1024
    assert ram.padding == 48 + 60 + 16 and ram.free == 32 * 1024 - 3280 and ram.align == 64
    assert result.session_slot_size == 64 and result.session_slot_padding == 0

    big = ram.objects[1]
    assert big.paddings == [Padding(48, LINE, "pools[0] starts on a 64 B boundary")]
    sessions = ram.objects[5]
    assert sessions.paddings == [Padding(16, LINE, "sessions starts on a 64 B boundary")]
    assert sessions.section == ".memplan.hand.sessions" and sessions.symbol == "session_slots"
    assert (ram.objects[2].start_symbol, ram.objects[2].end_symbol) == ("__memplan_hand_pool_state_keys_start", "__memplan_hand_pool_state_keys_end")
    assert (ram.output_section, ram.origin_symbol, ram.length_symbol) == (
        ".memplan.hand.ram", "__memplan_hand_region_ram_origin", "__memplan_hand_region_ram_length")

    fast = result.region("fast")
    assert rows(fast) == [("pool.ctx", "pools[2]", 0, 80, 64, 0), ("pool_state.ctx", "pools[2].count", 80, 20, 4, 0)]
    assert fast.used == 100
    assert result.total_used == 3280 + 100
    assert summary(result) == {"ram": (3280, 32 * 1024), "fast": (100, 4096)}


def test_hand_computed_host_plan() -> None:
    result = plan_text(HAND)
    host = result.host
    assert host is not None and host is not result
    assert host.abi is ABI_BY_CORE["host"] and result.abi is ABI_BY_CORE["cortex-m3"]
    ram = host.region("ram")
    # Same placement up to the key slots; an x86-64 GCM context is 624 B instead of 616 B.
    assert rows(ram)[:-1] == rows(result.region("ram"))[:-1]
    assert rows(ram)[-1] == ("key_slots", "sessions.key_slots", 2048, 624 * 2, 64, 0)
    assert ram.used == 2048 + 1248
    assert host.region("fast").used == 100
    assert host.host is None


def test_a_host_profile_is_its_own_host_plan() -> None:
    result = plan_text(HAND.replace("core: cortex-m3", "core: host"))
    assert result.host is result
    assert result.region("ram").used == 3296


def test_cache_line_32_fits_sessions_in_two_lines() -> None:
    result = plan_text(VALID_PROFILE)
    sessions = next(o for o in result.region("sram").objects if o.object == "sessions")
    assert sessions.size == 8 * 64 and result.session_slot_size == 64 and result.session_slot_padding == 0
    assert all("fills" not in p.reason for p in sessions.paddings)


def test_cache_line_128_rounds_sessions_to_128() -> None:
    result = plan_text(VALID_PROFILE.replace("cache_line: 32", "cache_line: 128"))
    assert result.session_slot_size == 128 and result.session_slot_padding == 64
    sessions = next(o for o in result.region("sram").objects if o.object == "sessions")
    assert sessions.paddings[-1] == Padding(8 * 64, LINE, "each 64 B session record fills a 128 B slot (a whole number of 128 B cache lines)")
    for region in result.regions:
        for obj in region.objects:
            assert obj.offset % obj.align == 0
            assert obj.align == (4 if obj.object.startswith("pool_state") else 128)


def _check_region(result: Plan, region: RegionPlan) -> None:
    profile = result.profile
    abi = result.abi
    end = 0
    gaps = inner = 0
    for obj in region.objects:
        assert obj.offset % obj.align == 0, obj
        gap = obj.offset - end
        assert gap == align_up(end, obj.align) - end
        if gap:
            assert obj.paddings[0].size == gap and obj.paddings[0].cause in (LINE, obj.key), obj
        gaps += gap
        inner += obj.padding - gap
        end = obj.offset + obj.size
        kind, _, name = obj.object.partition(".")
        if kind == "pool":
            spec = next(p for p in profile.pools if p.name == name)
            assert obj.size == spec.block_size * spec.count and obj.key == f"pools[{spec.index}]"
            assert spec.region == region.name
        elif kind == "pool_state":
            spec = next(p for p in profile.pools if p.name == name)
            assert obj.size == align_up(10 * spec.count, 4)  # per block: 64-bit generation, 16-bit link
        elif kind == "workspace":
            assert obj.size == profile.workspace.buffer_size * len(WORKSPACE_BUFFERS)
        elif kind == "sessions":
            assert obj.size == result.session_slot_size * profile.sessions.count
            assert result.session_slot_size == align_up(abi.session_record_size, profile.target.cache_line)
            assert obj.padding - gap == result.session_slot_padding * profile.sessions.count
        elif kind == "stack":
            assert profile.stack is not None and obj.align == 8
            sizes = {"stack": profile.stack.size, **{f"stack.threads[{i}]": t.size for i, t in enumerate(profile.stack.threads)}}
            assert obj.size == sizes[obj.key]
        else:
            assert kind == "key_slots"
            assert obj.size == abi.key_context(profile.crypto.family)[0] * profile.sessions.key_slots
        for pad in obj.paddings:
            assert pad.size > 0 and pad.reason
            assert pad.cause == LINE or pad.cause in profile.positions, pad
    assert region.used == end == sum(o.size for o in region.objects) + gaps
    assert region.padding == gaps + inner
    assert region.used <= region.budget <= region.size


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_region_totals_add_up(name: str) -> None:
    profile, _ = load_profile(str(REPO / "profiles" / f"{name}.yaml"))
    result = plan(profile)
    assert result.host is not None and result.host is not result
    for p in (result, result.host):
        shown = [r for r in p.regions if r.objects]
        assert shown
        for region in shown:
            _check_region(p, region)
        placed = sorted(o.object for r in p.regions for o in r.objects)
        expected = sorted([f"pool.{s.name}" for s in profile.pools] + [f"pool_state.{s.name}" for s in profile.pools]
                          + ["workspace", "sessions", "key_slots"] + (["stack.main"] if profile.stack else [])
                          + ([f"stack.thread{i}" for i in range(len(profile.stack.threads))] if profile.stack else []))
        assert placed == expected  # every object placed exactly once


def test_shipped_medium_numbers() -> None:
    result = plan(load_profile(str(REPO / "profiles" / "medium.yaml"))[0])
    assert summary(result) == {"sram": (44640 + 3072, 49152), "ccm": (2368, 4096)}  # the layout, and its 3 KiB stack
    assert summary(result.host) == {"sram": (44704 + 3072, 49152), "ccm": (2368, 4096)}


def _check_budget(write_profile: Callable[..., Path], cli: Callable[..., Run], text: str) -> Run:
    path = write_profile(text)
    run = cli("check", path)
    assert run.code == 1 and run.out == ""
    return Run(run.code, run.out, run.err.replace(str(path), "F"))


def test_over_budget_names_region_total_budget_and_largest(write_profile, cli) -> None:
    run = _check_budget(write_profile, cli, VALID_PROFILE.replace("  sram: 48KiB", "  sram: 44639"))
    assert run.err == (
        "F:11:9: error: budget.sram: region 'sram' needs 44640 B but its budget is 44639 B (over by 1 B); "
        "largest: pools[3] (pool.large) 16384 B, workspace (workspace) 10248 B, pools[2] (pool.medium) 8192 B\n"
    )


def test_over_budget_in_every_region_at_once(write_profile, cli) -> None:
    text = VALID_PROFILE.replace("  sram: 48KiB", "  sram: 40000").replace("  ccm: 4KiB", "  ccm: 2KiB")
    run = _check_budget(write_profile, cli, text)
    assert run.err.splitlines() == [
        "F:11:9: error: budget.sram: region 'sram' needs 44640 B but its budget is 40000 B (over by 4640 B); "
        "largest: pools[3] (pool.large) 16384 B, workspace (workspace) 10248 B, pools[2] (pool.medium) 8192 B",
        "F:12:8: error: budget.ccm: region 'ccm' needs 2368 B but its budget is 2048 B (over by 320 B); "
        "largest: pools[0] (pool.tiny) 2048 B, pools[0].count (pool_state.tiny) 320 B",
    ]


def test_a_budget_that_fits_the_target_but_not_the_host_build(write_profile, cli) -> None:
    run = _check_budget(write_profile, cli, VALID_PROFILE.replace("  sram: 48KiB", "  sram: 44640"))
    assert run.err == (
        "F:11:9: error: budget.sram: region 'sram' needs 44704 B in a host build (x86-64: mbedTLS contexts are "
        "larger) but its budget is 44640 B (over by 64 B); "
        "largest: pools[3] (pool.large) 16384 B, workspace (workspace) 10248 B, pools[2] (pool.medium) 8192 B\n"
    )


def test_plan_raises_profile_error_with_position() -> None:
    profile = validate(load_text(VALID_PROFILE.replace("  ccm: 4KiB", "  ccm: 1KiB"), "x.yaml"), "x.yaml")
    with pytest.raises(ProfileError) as info:
        plan(profile)
    (diagnostic,) = info.value.diagnostics
    assert (diagnostic.path, diagnostic.position.line, diagnostic.position.column) == ("budget.ccm", 12, 8)
    assert "needs 2368 B but its budget is 1024 B (over by 1344 B)" in diagnostic.message
