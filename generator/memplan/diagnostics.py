"""Compiler-style diagnostics: `file:line:col: error: key.path: message`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in a profile file."""

    line: int
    column: int


@dataclass(frozen=True)
class Diagnostic:
    file: str
    position: Optional[Position]
    path: str  # key path such as "pools[1].block_size"; empty for file-level errors
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.position is not None:
            where += f":{self.position.line}:{self.position.column}"
        what = f"{self.path}: {self.message}" if self.path else self.message
        return f"{where}: error: {what}"


class ProfileError(Exception):
    """One or more diagnostics for a profile; raised only after collecting all of them."""

    def __init__(self, diagnostics: List[Diagnostic]) -> None:
        super().__init__("\n".join(str(d) for d in diagnostics))
        self.diagnostics = sorted(
            diagnostics,
            key=lambda d: (d.file, d.position.line if d.position else 0, d.position.column if d.position else 0),
        )
