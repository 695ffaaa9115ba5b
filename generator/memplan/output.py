"""Writes generated files: only those whose bytes changed, each atomically.

Callers render everything first and write only when every profile succeeded,
so a failed run leaves earlier outputs untouched (Zephyr-style write-if-changed
keeps build systems from rebuilding what did not change).
"""

from __future__ import annotations

import os
import tempfile
from typing import Dict, List


def write_if_changed(path: str, data: bytes) -> bool:
    """Returns True when the file was (re)written; creates its folder."""
    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                return False
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    write_atomically(path, data)
    return True


def write_atomically(path: str, data: bytes) -> None:
    """Readers see the old file or the new one, never half of one. The folder must exist."""
    directory = os.path.dirname(path) or "."
    fd, temporary = tempfile.mkstemp(prefix=".memplan-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)  # atomic: readers see the old or the new file, never half
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_outputs(out_dir: str, outputs: Dict[str, Dict[str, bytes]]) -> List[str]:
    """outputs: profile name -> file name -> bytes. Returns the paths rewritten."""
    written = []
    for name, files in outputs.items():
        for file_name, data in files.items():
            path = os.path.join(out_dir, name, file_name)
            if write_if_changed(path, data):
                written.append(path)
    return written
