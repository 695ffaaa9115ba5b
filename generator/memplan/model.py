"""The validated profile: plain, typed data with no YAML left in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from memplan.diagnostics import Position

CORES = ("cortex-m0", "cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "host")
USAGES = ("key", "nonce", "message", "context")  # order = bit index of memplan::Usage


@dataclass(frozen=True)
class Aead:
    family: str  # gcm, ccm or chachapoly: the runtime's backend, the key slot's context
    key_bits: int


AEADS = {
    "aes-128-gcm": Aead("gcm", 128),
    "aes-192-gcm": Aead("gcm", 192),
    "aes-256-gcm": Aead("gcm", 256),
    "aes-128-ccm": Aead("ccm", 128),
    "aes-256-ccm": Aead("ccm", 256),
    "chacha20-poly1305": Aead("chachapoly", 256),
}
# mbedTLS's lookup tables (mbedtls_build.py): where AES's live and how many, and GHASH's per key.
AES_TABLE_CHOICES = ("flash-compact", "flash-full", "ram-compact", "ram-full")
GCM_TABLE_CHOICES = ("4-bit", "8-bit")
DEFAULT_AES_TABLES = "flash-compact"
DEFAULT_GCM_TABLE = "4-bit"
WORKSPACE_BUFFERS = ("input0", "input1", "output0", "output1", "scratch")


@dataclass(frozen=True)
class Flash:
    """The part's flash, for a linker script's MEMORY (`memplan init` writes one)."""

    origin: int
    size: int


@dataclass(frozen=True)
class Target:
    core: str
    cache_line: int
    regions: Dict[str, int]  # name -> size in bytes, in profile order
    origins: Dict[str, int] = field(default_factory=dict)  # name -> ORIGIN, for the regions that state one
    flash: Optional[Flash] = None


@dataclass(frozen=True)
class PoolSpec:
    name: str
    block_size: int
    count: int
    usage: Tuple[str, ...]
    region: str
    index: int  # position in the profile's pools list, for key paths
    detect_write_after_free: bool = True  # allocation checks that a free block still reads as wiped


@dataclass(frozen=True)
class Sessions:
    count: int
    key_slots: int
    region: str


@dataclass(frozen=True)
class Workspace:
    buffer_size: int
    region: str


@dataclass(frozen=True)
class Crypto:
    aead: str
    key_bits: int
    tag_size: int
    nonce_fixed_size: int
    nonce_counter_size: int
    nonce_reserve: int
    max_messages: int
    max_age_s: int
    max_security_violations: int
    replay_window: int = 0  # counters open() remembers against replay; 0: none
    aes_tables: str = DEFAULT_AES_TABLES  # AES_TABLE_CHOICES; used by the AES AEADs only
    gcm_table: str = DEFAULT_GCM_TABLE  # GCM_TABLE_CHOICES; used by AES-GCM only

    @property
    def family(self) -> str:
        return AEADS[self.aead].family

    @property
    def nonce_size(self) -> int:
        return self.nonce_fixed_size + self.nonce_counter_size


@dataclass(frozen=True)
class Interrupt:
    function: str  # the handler's symbol
    priority: int  # its preemption priority: a lower number preempts a higher one


@dataclass(frozen=True)
class Thread:
    function: str  # an RTOS task's entry
    size: int  # its own stack's bytes, placed in the layout
    region: str


@dataclass(frozen=True)
class Stack:
    """The stacks the layout places and the entry points whose worst case must fit them."""

    size: int  # the main stack (MSP): the reset path and the interrupt handlers
    region: str
    entry: str  # the reset path's function
    interrupts: Tuple[Interrupt, ...] = ()
    threads: Tuple[Thread, ...] = ()
    calls: Dict[str, Tuple[str, ...]] = field(default_factory=dict)  # caller -> targets of its indirect calls
    recursion: Dict[str, int] = field(default_factory=dict)  # function -> how often its recursion repeats
    frames: Dict[str, int] = field(default_factory=dict)  # function -> a frame the analysis cannot read


@dataclass(frozen=True)
class Profile:
    path: str
    name: str
    description: str
    target: Target
    budget: Dict[str, int]
    pools: Tuple[PoolSpec, ...]
    sessions: Sessions
    workspace: Workspace
    crypto: Crypto
    positions: Dict[str, Position]  # key path -> where it is written, for plan-time errors
    stack: Optional[Stack] = None
