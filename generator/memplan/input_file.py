"""Reads one input file whole, refusing what would hang or exhaust the reader.

open() of a FIFO without a writer blocks forever, and /dev/zero never ends:
every file memplan reads (profiles, images, linker maps, call graphs, budget
reports, statistics logs) comes through read_bounded(), which opens only
regular files and reads at most `limit` bytes. Each reader turns the two
refusals into its own error, worded for what it reads.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Optional


class NotARegularFile(Exception):
    """A FIFO, a device or a socket: nothing memplan reads is one."""


class TooLarge(Exception):
    """More than the limit: `size` is the file's size, or None when it grew while read."""

    def __init__(self, size: Optional[int]) -> None:
        super().__init__(size)
        self.size = size


def read_bounded(path: str, limit: int) -> bytes:
    """The bytes of the regular file at `path`; raises OSError (a folder: IsADirectoryError),
    NotARegularFile or TooLarge."""
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if not stat.S_ISREG(mode):
        raise NotARegularFile(path)
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:  # refused before a byte is read
            raise TooLarge(size)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(None)
    return data
