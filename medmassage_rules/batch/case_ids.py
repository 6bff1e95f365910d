"""The case ids a batch has seen, and where: the duplicate check at about 32 bytes a case.

A batch refuses a case id it has already seen (ids are unique within a batch) and says
where the first one was, so it must remember every id: the one thing in a batch that grows
with the number of cases. A dict of id strings to source strings costs about 200 bytes a
case (18 MB more at 100,000 cases than at 10,000). :class:`FirstSeen` keeps a 128-bit
BLAKE2b digest of each id and its packed location (file number, line) in flat arrays, an
open-addressing table at most four-fifths full: 24 bytes a slot, about 32 bytes a case.
Two different ids would have to collide in BLAKE2b's 128 bits to be mistaken for each other.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Sequence
from pathlib import Path

_LINE_BITS = 32


class Sources:
    """Packs the source of a case (``file`` or ``file:line``, one of ``files``) into one integer."""

    def __init__(self, files: Sequence[Path]):
        self.files = [str(f) for f in files]
        self.index = {name: i for i, name in reversed(list(enumerate(self.files)))}

    def pack(self, source: str) -> int:
        if source in self.index:
            return self.index[source] << _LINE_BITS
        head, _, line = source.rpartition(":")
        return (self.index[head] << _LINE_BITS) | int(line)

    def unpack(self, packed: int) -> str:
        name, line = self.files[packed >> _LINE_BITS], packed & ((1 << _LINE_BITS) - 1)
        return f"{name}:{line}" if line else name


class FirstSeen:
    """A set of strings, each with the integer given when it was first added."""

    def __init__(self, capacity: int = 1024):
        self.size = 0
        self._allocate(capacity)

    def _allocate(self, capacity: int) -> None:
        self.mask = capacity - 1
        self.high = array("q", bytes(8 * capacity))   # 0 marks an empty slot
        self.low = array("q", bytes(8 * capacity))
        self.value = array("q", bytes(8 * capacity))

    @staticmethod
    def _digest(key: str) -> tuple[int, int]:
        digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        high = int.from_bytes(digest[:8], "little", signed=True) or 1
        return high, int.from_bytes(digest[8:], "little", signed=True)

    def add(self, key: str, value: int) -> int | None:
        """Add ``key`` with ``value`` and return None; if it was added before, return its first value."""
        high, low = self._digest(key)
        slot = low & self.mask
        while self.high[slot]:
            if self.high[slot] == high and self.low[slot] == low:
                return self.value[slot]
            slot = (slot + 1) & self.mask
        self.high[slot], self.low[slot], self.value[slot] = high, low, value
        self.size += 1
        if 5 * self.size > 4 * (self.mask + 1):
            self._grow()
        return None

    def _grow(self) -> None:
        high, low, value = self.high, self.low, self.value
        self._allocate(2 * len(high))
        for i in range(len(high)):
            if high[i]:
                slot = low[i] & self.mask
                while self.high[slot]:
                    slot = (slot + 1) & self.mask
                self.high[slot], self.low[slot], self.value[slot] = high[i], low[i], value[i]

    def __len__(self) -> int:
        return self.size
