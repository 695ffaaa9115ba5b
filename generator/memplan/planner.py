"""Places every byte of a profile's layout and names the cause of every padding byte.

The plan is all arithmetic the generator does; templates only print it.
Within a region, objects follow in a fixed order (pools by block size, pool
state words, workspace, sessions, key slots, stacks), each at its alignment, from a
region start aligned to the largest alignment in it, exactly as the linker
fragment lays out their sections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from memplan import names, rules
from memplan.diagnostics import Diagnostic, ProfileError
from memplan.mbedtls_build import AES_TABLES, GCM_TABLE_MACROS, AesTables, uses_aes, uses_gcm
from memplan.model import USAGES, WORKSPACE_BUFFERS, PoolSpec, Profile
from memplan.target_abi import HOST_CORE, TargetAbi, abi_for


STACK_ALIGN = 8  # AAPCS: SP is 8-byte aligned at every public interface


def align_up(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


@dataclass(frozen=True)
class Padding:
    size: int
    cause: str  # the profile key that made it, e.g. "target.cache_line"
    reason: str


@dataclass
class PlacedObject:
    key: str  # profile key path: "pools[0]", "workspace", "sessions", "sessions.key_slots"
    object: str  # section/linker name part: "pool.tiny", "pool_state.tiny", "workspace", ...
    symbol: str  # C++ name of the storage in the profile namespace
    section: str
    start_symbol: str  # the fragment's linker symbols around the object's section
    end_symbol: str
    size: int  # sizeof the storage, inner padding included
    align: int
    pool: Optional["PoolPlan"] = None  # the pool of a pool's storage or state
    offset: int = 0
    paddings: List[Padding] = field(default_factory=list)

    @property
    def padding(self) -> int:
        return sum(p.size for p in self.paddings)

    @property
    def kind(self) -> str:
        """pool, pool_state, workspace, sessions or key_slots: how the header declares it."""
        return names.object_kind(self.object)


@dataclass
class RegionPlan:
    name: str
    size: int
    budget: int
    output_section: str  # the fragment's NOLOAD section for the region
    start_symbol: str
    end_symbol: str
    origin_symbol: str  # ORIGIN() and LENGTH() of the linker script's MEMORY region
    length_symbol: str
    align: int = 1
    objects: List[PlacedObject] = field(default_factory=list)
    used: int = 0

    @property
    def padding(self) -> int:
        return sum(o.padding for o in self.objects)

    @property
    def free(self) -> int:
        return self.budget - self.used

    @property
    def used_constant(self) -> str:
        return names.region_used(self.name)

    @property
    def budget_constant(self) -> str:
        return names.region_budget(self.name)

    @property
    def planned_constant(self) -> str:
        return names.region_planned(self.name)


@dataclass(frozen=True)
class PoolPlan:
    spec: PoolSpec
    variable: str  # the Pool object in the profile namespace
    storage_symbol: str
    state_symbol: str
    block_size_constant: str  # in namespace config
    block_count_constant: str
    state_size: int  # sizeof(PoolState<count>) on the plan's ABI
    usage_mask: int
    section: str
    state_section: str

    @property
    def storage_size(self) -> int:
        return self.spec.block_size * self.spec.count

    @property
    def usage_mask_literal(self) -> str:
        return f"0x{self.usage_mask:x}u"

    @property
    def usage_flags(self) -> str:
        """The usage mask as the runtime's named flags, for the generated header."""
        return " | ".join(f"usage_bit(Usage::{u.capitalize()})" for u in USAGES if self.usage_mask & (1 << USAGES.index(u)))


@dataclass
class Plan:
    profile: Profile
    names: names.ProfileNames
    abi: TargetAbi
    pools: List[PoolPlan]  # ascending block size: the order Pools searches
    regions: List[RegionPlan]
    session_slot_size: int
    session_slot_padding: int
    workspace_buffers: Tuple[str, ...] = WORKSPACE_BUFFERS
    host: Optional["Plan"] = None  # the same layout with x86-64 sizes (self when the core is host)

    @property
    def total_used(self) -> int:
        return sum(r.used for r in self.regions)

    @property
    def pool_count(self) -> int:
        return len(self.pools)

    @property
    def workspace_bytes(self) -> int:
        return self.profile.workspace.buffer_size * len(self.workspace_buffers)

    @property
    def aead_backend(self) -> str:
        """The runtime's backend type for the profile's AEAD (its nonce length, for AES-CCM)."""
        crypto = self.profile.crypto
        return rules.family_of(crypto.aead).backend.format(nonce=crypto.nonce_size)

    @property
    def key_context_size(self) -> int:
        return self.abi.key_context(self.profile.crypto.family, self.profile.crypto.gcm_table)[0]

    @property
    def key_context_align(self) -> int:
        return self.abi.key_context(self.profile.crypto.family, self.profile.crypto.gcm_table)[1]

    @property
    def aes_tables(self) -> Optional[AesTables]:
        """The AES tables the product's mbedTLS build holds (outside the layout), or None without AES."""
        return AES_TABLES[self.profile.crypto.aes_tables] if uses_aes(self.profile) else None

    @property
    def gcm_table(self) -> Optional[str]:
        return self.profile.crypto.gcm_table if uses_gcm(self.profile) else None

    @property
    def mbedtls_checks(self) -> List[Tuple[str, bool, str, str]]:
        """(macro, defined?, profile key, its value) for each mbedTLS macro the profile's
        tables decide: the header refuses an mbedTLS build configured otherwise."""
        checks: List[Tuple[str, bool, str, str]] = []
        crypto = self.profile.crypto
        if self.aes_tables is not None:
            for macro in ("MBEDTLS_AES_ROM_TABLES", "MBEDTLS_AES_FEWER_TABLES"):
                checks.append((macro, macro in self.aes_tables.macros, "crypto.tables.aes", crypto.aes_tables))
        if self.gcm_table is not None:
            checks.append(("MBEDTLS_GCM_LARGE_TABLE", bool(GCM_TABLE_MACROS[crypto.gcm_table]), "crypto.tables.gcm", crypto.gcm_table))
        return checks

    def region(self, name: str) -> RegionPlan:
        return next(r for r in self.regions if r.name == name)


def plan(profile: Profile) -> Plan:
    """Plans the layout for the profile's core, and for the x86-64 host on which
    the same product's code is tested; raises ProfileError when a region is over
    its budget on either ABI (the generated header asserts both)."""
    result = plan_for_abi(profile, profile.target.core)
    _check_budgets(result, "")
    if profile.target.core != HOST_CORE:
        result.host = plan_for_abi(profile, HOST_CORE)
        _check_budgets(result.host, " in a host build (x86-64: mbedTLS contexts are larger)")
    else:
        result.host = result
    return result


def plan_for_abi(profile: Profile, core: str) -> Plan:
    """Places every object with the sizes of `core`'s ABI."""
    abi = abi_for(core)
    line = profile.target.cache_line
    named = names.ProfileNames(profile.name)
    regions = {
        name: RegionPlan(name, size, profile.budget.get(name, 0), named.output_section(name), named.region_start(name),
                         named.region_end(name), named.region_origin(name), named.region_length(name))
        for name, size in profile.target.regions.items()
    }

    pools: List[PoolPlan] = []
    for spec in sorted(profile.pools, key=lambda p: (p.block_size, p.index)):
        mask = 0
        for usage in spec.usage:
            mask |= 1 << USAGES.index(usage)
        pools.append(
            PoolPlan(
                spec=spec,
                variable=names.pool_variable(spec.name),
                storage_symbol=names.pool_storage(spec.name),
                state_symbol=names.pool_state(spec.name),
                block_size_constant=names.pool_block_size(spec.name),
                block_count_constant=names.pool_block_count(spec.name),
                state_size=abi.pool_state_size(spec.count),
                usage_mask=mask,
                section=named.section(names.pool_object(spec.name)),
                state_section=named.section(names.pool_state_object(spec.name)),
            )
        )

    def add(region: str, key: str, obj: str, symbol: str, size: int, align: int, pool: Optional[PoolPlan] = None) -> PlacedObject:
        placed = PlacedObject(key, obj, symbol, named.section(obj), named.object_start(obj), named.object_end(obj), size, align, pool)
        regions[region].objects.append(placed)
        return placed

    for pool in pools:
        spec = pool.spec
        add(spec.region, f"pools[{spec.index}]", names.pool_object(spec.name), pool.storage_symbol, pool.storage_size, line, pool)
    for pool in pools:
        spec = pool.spec
        add(spec.region, f"pools[{spec.index}].count", names.pool_state_object(spec.name), pool.state_symbol, pool.state_size,
            abi.pool_state_align, pool)

    ws = profile.workspace
    add(ws.region, "workspace", names.WORKSPACE, names.WORKSPACE_STORAGE, ws.buffer_size * len(WORKSPACE_BUFFERS), line)

    slot_size = align_up(abi.session_record_size, line)
    slot_padding = slot_size - abi.session_record_size
    sessions = add(profile.sessions.region, "sessions", names.SESSIONS, names.SESSION_SLOTS, slot_size * profile.sessions.count, line)
    if slot_padding:
        sessions.paddings.append(
            Padding(
                slot_padding * profile.sessions.count,
                "target.cache_line",
                f"each {abi.session_record_size} B session record fills a {slot_size} B slot (a whole number of {line} B cache lines)",
            )
        )
    context_size, context_align = abi.key_context(profile.crypto.family, profile.crypto.gcm_table)
    add(profile.sessions.region, "sessions.key_slots", names.KEY_SLOTS, names.KEY_SLOT_STORAGE,
        context_size * profile.sessions.key_slots, max(line, context_align))

    stack = profile.stack
    if stack is not None:  # last in their regions; 8-byte aligned as AAPCS wants a stack
        add(stack.region, "stack", names.MAIN_STACK, names.MAIN_STACK_STORAGE, stack.size, STACK_ALIGN)
        for index, thread in enumerate(stack.threads):
            add(thread.region, f"stack.threads[{index}]", names.thread_stack_object(index), names.thread_stack_storage(index),
                thread.size, STACK_ALIGN)

    for region in regions.values():
        offset = 0
        for obj in region.objects:
            start = align_up(offset, obj.align)
            if start != offset:
                cause = "target.cache_line" if obj.align == line else obj.key
                obj.paddings.insert(0, Padding(start - offset, cause, f"{obj.key} starts on a {obj.align} B boundary"))
            obj.offset = start
            offset = start + obj.size
            region.align = max(region.align, obj.align)
        region.used = offset

    return Plan(profile, named, abi, pools, list(regions.values()), slot_size, slot_padding)


def _check_budgets(result: Plan, where: str) -> None:
    profile = result.profile
    errors: List[Diagnostic] = []
    for region in result.regions:
        if region.used <= region.budget:
            continue
        largest = sorted(region.objects, key=lambda o: (-(o.size + o.padding), o.key))[:3]
        contributors = ", ".join(f"{o.key} ({o.object}) {o.size + o.padding} B" for o in largest)
        position = profile.positions.get(f"budget.{region.name}") or profile.positions.get("budget")
        errors.append(
            Diagnostic(
                profile.path,
                position,
                f"budget.{region.name}",
                f"region '{region.name}' needs {region.used} B{where} but its budget is {region.budget} B "
                f"(over by {region.used - region.budget} B); largest: {contributors}",
            )
        )
    if errors:
        raise ProfileError(errors)


def summary(result: Plan) -> Dict[str, Tuple[int, int]]:
    """Region -> (used, budget), for the CLI's one-line check output."""
    return {r.name: (r.used, r.budget) for r in result.regions if r.objects}
