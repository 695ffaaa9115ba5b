"""runtime_ports.py against the runtime's headers and the compiler: every virtual method of the
Cortex-M ports is listed, and an override of each, compiled by arm-none-eabi-g++, has a mangled
name ending as the table says (so the stack analysis finds the overrides in an image's vtables)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import REPO, require_compiler
from memplan.runtime_ports import PORT_CALLERS, PORT_METHODS, is_override_of, ports_called_by

PORTS = REPO / "runtime" / "include" / "memplan" / "port"
# The host's file-system port serves the host's file nonce store only: the stack analysis reads Cortex-M images.
HEADERS = {"ports.hpp": ("NonceStore", "Clock", "DeviceIdentity"), "flash.hpp": ("Flash",), "console.hpp": ("Console",)}

OVERRIDES = """\
#include <memplan/port/console.hpp>
#include <memplan/port/flash.hpp>
#include <memplan/port/ports.hpp>
struct Store final : memplan::NonceStore {
  memplan::Result<std::uint64_t> load(std::uint32_t) noexcept override { return std::uint64_t{0}; }
  memplan::Status persist(std::uint32_t, std::uint64_t) noexcept override { return {}; }
};
struct Time final : memplan::Clock {
  memplan::Result<std::uint32_t> now_s() noexcept override { return std::uint32_t{0}; }
};
struct Identity final : memplan::DeviceIdentity {
  void nonce_fixed_field(std::uint8_t*, std::size_t) noexcept override {}
};
struct Part final : memplan::Flash {
  Geometry geometry() const noexcept override { return {}; }
  memplan::Status erase(std::uint32_t) noexcept override { return {}; }
  memplan::Status program(std::uint32_t, const std::uint8_t*, std::size_t) noexcept override { return {}; }
  memplan::Status read(std::uint32_t, std::uint8_t*, std::size_t) noexcept override { return {}; }
};
struct Out final : memplan::Console {
  void write(const char*, std::size_t) noexcept override {}
  [[noreturn]] void exit(int) noexcept override { __builtin_trap(); }
};
Store store;
Out out;
Time time_port;
Identity identity;
Part part;
"""


def test_every_virtual_method_of_the_ports_is_listed() -> None:
    for header, ports in HEADERS.items():
        text = (PORTS / header).read_text()
        declared = re.findall(r"virtual [^;(]*?(\w+)\(", text)
        listed = [re.match(r"\d+(\w+?)E", suffix).group(1) for port in ports for suffix in PORT_METHODS[port]]  # type: ignore[union-attr]
        assert sorted(declared) == sorted(listed), header


def test_overrides_compiled_for_cortex_m_end_as_listed(tmp_path: Path) -> None:
    require_compiler("arm-none-eabi-g++")
    source = tmp_path / "overrides.cpp"
    source.write_text(OVERRIDES)
    subprocess.run(["arm-none-eabi-g++", "-mcpu=cortex-m4", "-mthumb", "-std=c++17", "-fno-rtti", "-fno-exceptions", "-O1",
                    f"-I{REPO / 'runtime' / 'include'}", "-c", str(source), "-o", str(tmp_path / "overrides.o")], check=True)
    names = subprocess.run(["arm-none-eabi-nm", str(tmp_path / "overrides.o")], capture_output=True, text=True, check=True).stdout
    overrides = [line.split()[-1] for line in names.splitlines() if re.search(r" [TtWw] _ZN[K]?\d+(Store|Time|Identity|Part|Out)", line)]
    assert len(overrides) == sum(len(methods) for methods in PORT_METHODS.values())
    for name in overrides:
        assert is_override_of(name, tuple(PORT_METHODS)), name


def test_the_runtimes_port_callers() -> None:
    session_table = "_ZN7memplan17BasicSessionTableINS_20CortexMInterruptLockENS_6AesGcmEE4sealENS_13SessionHandleENS_13ConstByteSpanES5_"
    assert ports_called_by(session_table) == ("NonceStore", "Clock", "DeviceIdentity")
    assert ports_called_by("_ZN7memplan15FlashNonceStoreILj8ENS_20CortexMInterruptLockEE12write_recordEmRmRKNS2_6RecordE") == ("Flash",)
    assert ports_called_by("_ZN7memplan7Console13print_decimalEy") == ("Console",)
    assert ports_called_by("_ZN7memplan18SemihostingConsole5writeEPKcj") == ()  # an override calls no port
    assert ports_called_by("_ZN7memplan9BasicPoolINS_20CortexMInterruptLockEE7releaseEPv") == ()
    assert ports_called_by("_Z3fooN7memplan17BasicSessionTableE") == ()  # a product function taking a table
    for owner in PORT_CALLERS:  # each caller is a class of the runtime
        assert any(re.sub(r"^\d+", "", owner) in p.read_text() for p in (REPO / "runtime" / "include" / "memplan").rglob("*.hpp"))
