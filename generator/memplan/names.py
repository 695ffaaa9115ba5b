"""Every name memplan derives from a profile, spelled once.

A profile's name becomes a C++ namespace and the stem of its sections and
linker symbols; its region and pool names are pasted into C++ identifiers
(the header), section names and linker symbols (the fragment). The planner
puts these names into the plan, the templates print them, the validator
checks them for clashes, reserved words and library macros, and check-elf
looks them up in a linked image: all through this module, so the four can
never spell a name differently.
"""

from __future__ import annotations

from typing import Tuple

# The files `memplan generate` writes into <out>/<profile>/.
LAYOUT_HEADER = "layout.hpp"
LINKER_FRAGMENT = "layout.ld"
BUDGET_JSON = "budget.json"
BUDGET_MARKDOWN = "budget.md"
BUDGET_PICTURE = "budget.svg"
OUTPUT_FILES = (LAYOUT_HEADER, LINKER_FRAGMENT, BUDGET_JSON, BUDGET_MARKDOWN, BUDGET_PICTURE)

# Object kinds: the first part of an object's name, and how the header declares it.
POOL = "pool"
POOL_STATE = "pool_state"
WORKSPACE = "workspace"
SESSIONS = "sessions"
KEY_SLOTS = "key_slots"
STACK = "stack"
MAIN_STACK = "stack.main"
THREADS_MAX = 64  # rules.THREADS_MAX: each thread's stack object is reserved

# C++ names of the storage that does not depend on a pool's name.
WORKSPACE_STORAGE = "workspace_storage"
SESSION_SLOTS = "session_slots"
KEY_SLOT_STORAGE = "key_slots"
MAIN_STACK_STORAGE = "main_stack"

# Names the header declares in the profile's namespace whatever the pools and
# regions are called, and names it declares in its `config` and `abi` namespaces.
FIXED_CPP_NAMES = (
    "config", "abi", WORKSPACE_STORAGE, "SessionSlot", SESSION_SLOTS, KEY_SLOT_STORAGE, "pool_list", "pools",
    "workspace", "session_records", "crypto_policy", "sessions", "storage_spans", "Memory", "memory_instance", "memory",
    "Aead", "SessionTable", MAIN_STACK_STORAGE, *(f"thread_{i}_stack" for i in range(THREADS_MAX)),
)
FIXED_CONFIG_NAMES = (
    "profile_name", "cache_line", "pool_count", "session_count", "key_slot_count", "workspace_buffer_size", "key_bits",
    "tag_size",
)
FIXED_ABI_NAMES = ("session_record_size", "session_record_align", "session_hot_end", "key_context_size", "key_context_align")

# Objects whose linker symbols do not depend on a pool's name.
FIXED_OBJECTS = (WORKSPACE, SESSIONS, KEY_SLOTS, MAIN_STACK, *(f"{STACK}.thread{i}" for i in range(THREADS_MAX)))


def pool_object(pool: str) -> str:
    return f"{POOL}.{pool}"


def pool_state_object(pool: str) -> str:
    return f"{POOL_STATE}.{pool}"


def thread_stack_object(index: int) -> str:
    return f"{STACK}.thread{index}"


def thread_stack_storage(index: int) -> str:
    return f"thread_{index}_stack"


def object_kind(obj: str) -> str:
    """'pool.tiny' -> 'pool'."""
    return obj.split(".", 1)[0]


def linker_part(obj: str) -> str:
    """An object's name as it appears inside linker symbols: 'pool.tiny' -> 'pool_tiny'."""
    return obj.replace(".", "_")


# C++ identifiers in the profile's namespace.
def pool_variable(pool: str) -> str:
    return f"pool_{pool}"


def pool_storage(pool: str) -> str:
    return f"pool_{pool}_storage"


def pool_state(pool: str) -> str:
    return f"pool_{pool}_state"


def region_used(region: str) -> str:
    return f"{region}_used"


# In `config`.
def pool_block_size(pool: str) -> str:
    return f"pool_{pool}_block_size"


def pool_block_count(pool: str) -> str:
    return f"pool_{pool}_block_count"


def region_budget(region: str) -> str:
    return f"{region}_budget"


# In `abi`.
def region_planned(region: str) -> str:
    return f"{region}_planned"


def region_cpp_names(region: str) -> Tuple[str, ...]:
    """Every C++ identifier a region's name is pasted into (profile namespace, config, abi)."""
    return (region_used(region), region_budget(region), region_planned(region))


def pool_cpp_names(pool: str) -> Tuple[str, ...]:
    """Every C++ identifier a pool's name is pasted into (profile namespace, config)."""
    return (pool_variable(pool), pool_storage(pool), pool_state(pool), pool_block_size(pool), pool_block_count(pool))


def pool_linker_parts(pool: str) -> Tuple[str, ...]:
    return (linker_part(pool_object(pool)), linker_part(pool_state_object(pool)))


class ProfileNames:
    """The names of one profile's sections and linker symbols."""

    def __init__(self, profile: str) -> None:
        self.profile = profile
        self.namespace = ("memplan", profile)
        self.section_prefix = f".memplan.{profile}."

    def section(self, obj: str) -> str:
        """The input section an object's storage is declared in: '.memplan.<profile>.pool.tiny'."""
        return self.section_prefix + obj

    def output_section(self, region: str) -> str:
        """The fragment's NOLOAD output section of a region: '.memplan.<profile>.<region>'."""
        return self.section_prefix + region

    def symbol(self, suffix: str) -> str:
        return f"__memplan_{self.profile}_{suffix}"

    def region_start(self, region: str) -> str:
        return self.symbol(f"{region}_start")

    def region_end(self, region: str) -> str:
        return self.symbol(f"{region}_end")

    def region_origin(self, region: str) -> str:
        return self.symbol(f"region_{region}_origin")

    def region_length(self, region: str) -> str:
        return self.symbol(f"region_{region}_length")

    def object_start(self, obj: str) -> str:
        return self.symbol(f"{linker_part(obj)}_start")

    def object_end(self, obj: str) -> str:
        return self.symbol(f"{linker_part(obj)}_end")

    def fragment(self) -> str:
        """The linker fragment as a product's linker script INCLUDEs it."""
        return f"{self.profile}/{LINKER_FRAGMENT}"
