"""Text from outside (file names, names read from an image) made safe to print on one line."""

from __future__ import annotations


def escape_unprintable(text: str, also: str = "") -> str:
    """Every character that is not printable (line breaks, controls, bidi and other format
    characters, lone surrogates) and every character in `also`, as a Python-style escape."""
    return "".join(c if c.isprintable() and c not in also else _escaped(c) for c in text)


def _escaped(c: str) -> str:
    if c.isprintable():  # a printable character the caller asked to escape, such as `|`
        return f"\\x{ord(c):02x}"
    return c.encode("unicode_escape", "backslashreplace").decode("ascii")
