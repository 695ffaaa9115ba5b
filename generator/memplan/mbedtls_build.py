"""The mbedTLS build a set of profiles needs: its lookup tables and their cost.

mbedTLS chooses its AES and GCM tables with compile-time macros, so one
build of the library (one CMake build tree, or one installed package) has one
choice. Every product linked against that build must plan its key slots and
its budget for that same choice: `build_options` finds what the profiles agree
on, or names the profile and key that disagree. CMake passes the macros it
returns to every compilation of mbedTLS and of its users (`memplan mbedtls`).

Table bytes are those of mbedTLS 3.6.6's aes.c with memplan's configuration
(MBEDTLS_BLOCK_CIPHER_NO_DECRYPT: GCM and CCM only encrypt, so no inverse
tables): the S-box (256 B), one or four 1 KiB round tables, and the ten
round constants (40 B). check-elf holds the linked image to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from memplan.diagnostics import Diagnostic, ProfileError
from memplan.model import AES_TABLE_CHOICES, DEFAULT_AES_TABLES, DEFAULT_GCM_TABLE, GCM_TABLE_CHOICES, Profile

# Always on: the table choices come from the profiles, so the config header
# must not choose them itself.
PLANNED_MACRO = "MEMPLAN_MBEDTLS_PLANNED"

AES_SBOX_BYTES = 256
AES_ROUND_TABLE_BYTES = 1024
AES_ROUND_CONSTANT_BYTES = 40


@dataclass(frozen=True)
class AesTables:
    choice: str
    in_ram: bool  # filled by the first key schedule (memplan fills them at init) instead of const in flash
    round_tables: int  # FT0 only (rotations computed per lookup), or FT0..FT3
    macros: Tuple[str, ...]

    @property
    def bytes(self) -> int:
        return AES_SBOX_BYTES + self.round_tables * AES_ROUND_TABLE_BYTES + AES_ROUND_CONSTANT_BYTES

    @property
    def ram_bytes(self) -> int:
        return self.bytes if self.in_ram else 0

    @property
    def flash_bytes(self) -> int:
        return 0 if self.in_ram else self.bytes


AES_TABLES: Dict[str, AesTables] = {
    "flash-compact": AesTables("flash-compact", False, 1, ("MBEDTLS_AES_ROM_TABLES", "MBEDTLS_AES_FEWER_TABLES")),
    "flash-full": AesTables("flash-full", False, 4, ("MBEDTLS_AES_ROM_TABLES",)),
    "ram-compact": AesTables("ram-compact", True, 1, ("MBEDTLS_AES_FEWER_TABLES",)),
    "ram-full": AesTables("ram-full", True, 4, ()),
}
assert tuple(AES_TABLES) == AES_TABLE_CHOICES

# GHASH's multiplication table lives in each GCM context, so its size is
# planned per key slot (target_abi.py): 16 or 256 entries of 16 bytes.
GCM_TABLE_MACROS: Dict[str, Tuple[str, ...]] = {"4-bit": (), "8-bit": ("MBEDTLS_GCM_LARGE_TABLE",)}
assert tuple(GCM_TABLE_MACROS) == GCM_TABLE_CHOICES
GCM_TABLE_BYTES = {"4-bit": 16 * 16, "8-bit": 256 * 16}


@dataclass(frozen=True)
class BuildOptions:
    """What one mbedTLS build is configured with; a choice nobody constrains keeps its default."""

    aes_tables: str = DEFAULT_AES_TABLES
    gcm_table: str = DEFAULT_GCM_TABLE

    @property
    def macros(self) -> Tuple[str, ...]:
        return (PLANNED_MACRO,) + AES_TABLES[self.aes_tables].macros + GCM_TABLE_MACROS[self.gcm_table]


def uses_aes(profile: Profile) -> bool:
    return profile.crypto.family in ("gcm", "ccm")


def uses_gcm(profile: Profile) -> bool:
    return profile.crypto.family == "gcm"


def build_options(profiles: Sequence[Profile]) -> BuildOptions:
    """The one configuration every profile can live with; raises ProfileError naming each
    profile whose choice differs from the first profile that made one."""
    errors: List[Diagnostic] = []
    aes = _agree(profiles, uses_aes, "crypto.tables.aes", lambda p: p.crypto.aes_tables, "AES tables", errors)
    gcm = _agree(profiles, uses_gcm, "crypto.tables.gcm", lambda p: p.crypto.gcm_table, "GCM table", errors)
    if errors:
        raise ProfileError(errors)
    return BuildOptions(aes or DEFAULT_AES_TABLES, gcm or DEFAULT_GCM_TABLE)


def _agree(profiles: Sequence[Profile], applies: Callable[[Profile], bool], key: str, value: Callable[[Profile], str], what: str,
           errors: List[Diagnostic]) -> Optional[str]:
    first: Optional[Profile] = None
    for profile in profiles:
        if not applies(profile):
            continue
        if first is None:
            first = profile
        elif value(profile) != value(first):
            position = profile.positions.get(key) or profile.positions.get("crypto.aead")
            said = "" if key in first.positions else " (the default)"
            errors.append(Diagnostic(
                profile.path, position, key,
                f"{value(profile)} here, but {first.path} ({first.name}) has {value(first)}{said}: one mbedTLS build has one "
                f"choice of {what}, so the products linked into one build must agree (or build them separately)"))
    return value(first) if first is not None else None
