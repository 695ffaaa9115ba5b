"""memplan's virtual ports, for the stack analysis: which runtime classes call which port, and
how each port method's overrides are named in a Cortex-M image.

The runtime calls through a pointer only to call its ports (runtime/include/memplan/port/): the
session table calls the nonce store, the clock and the device identity; the flash nonce store
calls the flash; the console's printing helpers call its write. An indirect call in one of those classes' functions can reach exactly the
overrides of those ports' methods, which the image's vtables hold. An override has the
interface method's name and parameters, so its mangled name ends as the interface method's does
(`<length><name>E<parameters>` on arm-none-eabi, where std::uint32_t is `m`, std::uint64_t `y` and
std::size_t `j`). tests/generator/test_runtime_ports.py compiles overrides of every port and checks
these suffixes against the compiler, and that every virtual method of the headers is listed.
"""

from __future__ import annotations

from typing import Dict, Tuple

# Port -> the mangled-name endings of its methods (arm-none-eabi).
PORT_METHODS: Dict[str, Tuple[str, ...]] = {
    "NonceStore": ("4loadEm", "7persistEmy"),
    "Clock": ("5now_sEv",),
    "DeviceIdentity": ("17nonce_fixed_fieldEPhj",),
    "Flash": ("8geometryEv", "5eraseEm", "7programEmPKhj", "4readEmPhj"),
    "Console": ("5writeEPKcj", "4exitEi"),
}

# Runtime class (its mangled name, `<length><name>`) -> the ports its indirect calls reach.
PORT_CALLERS: Dict[str, Tuple[str, ...]] = {
    "17BasicSessionTable": ("NonceStore", "Clock", "DeviceIdentity"),
    "15FlashNonceStore": ("Flash",),
    "7Console": ("Console",),  # print, print_decimal, print_hex call write
}

# Annotation target: every override of every port method the image's vtables hold.
ALL_PORTS = "memplan-ports"


def ports_called_by(function: str) -> Tuple[str, ...]:
    """The ports a memplan function's indirect calls reach (none when it is not a port caller)."""
    if not function.startswith(("_ZN7memplan", "_ZNK7memplan")):
        return ()
    for owner, ports in PORT_CALLERS.items():
        if function.startswith((f"_ZN7memplan{owner}", f"_ZNK7memplan{owner}")):
            return ports
    return ()


def is_override_of(function: str, ports: Tuple[str, ...]) -> bool:
    """Whether a function (of a vtable) overrides a method of one of the ports; a name ending in
    the method's `<length><name>E<parameters>` is that method of its class."""
    return any(function.endswith(suffix) for port in ports for suffix in PORT_METHODS[port])
