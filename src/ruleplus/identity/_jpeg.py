"""A JPEG marker walk, read before decoding: scan count and coefficient coverage.

libjpeg warns (and a strict decoder refuses) when a scan runs out of data, but a progressive or
multi-scan JPEG cut exactly between two scans and given an EOI marker is legal to it: the missing
scans decode as zero coefficients, a blurred or discoloured image and no warning. Walking the
markers tells whether every component received every DCT coefficient at full precision, and
counts the scans (each one is a pass over the whole image, so thousands of them are a CPU bomb).
Only segment headers are parsed; entropy-coded data is skipped with one regular expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ScanScript", "read_scan_script"]

_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # not DHT, JPG, DAC
_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0–RST7: no length field
_EOI, _SOS = 0xD9, 0xDA
# the end of entropy-coded data: 0xFF followed by anything but stuffing (00), RSTn or fill (FF)
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_NEVER = 255  # "coefficient never received" in the per-component precision table


@dataclass(frozen=True)
class ScanScript:
    """What the marker walk found.

    Parameters
    ----------
    scans : int
        Start-of-scan segments seen (the walk stops one past ``max_scans``).
    ended : bool
        An EOI marker was reached; ``False`` means the data ends first.
    complete : bool
        Every frame component received all 64 coefficients at full precision
        (successive approximation down to bit 0).
    """

    scans: int
    ended: bool
    complete: bool


def read_scan_script(data: bytes, max_scans: int) -> ScanScript:
    """Walk the markers of the first JPEG image in ``data``, up to its EOI.

    Parameters
    ----------
    data : bytes
        Encoded JPEG (anything after the first EOI, such as an MPO's second image, is ignored).
    max_scans : int
        The walk stops after ``max_scans + 1`` scans, so that ``scans > max_scans`` tells.

    Returns
    -------
    ScanScript
        Scan count, whether EOI was reached, and whether the coefficients are complete.

    Raises
    ------
    ValueError
        The marker structure is malformed (no SOI, bytes where a marker must be, a scan before
        the frame header or naming a component the frame lacks, more than one frame).
    """
    if data[:2] != b"\xff\xd8":
        raise ValueError("no SOI marker")
    size, pos, scans = len(data), 2, 0
    precision: dict[int, list[int]] | None = None  # component id -> lowest bit received per k
    progressive = False
    while True:
        if pos >= size:
            return ScanScript(scans, ended=False, complete=False)
        if data[pos] != 0xFF:
            raise ValueError(f"expected a marker at byte {pos}")
        while pos < size and data[pos] == 0xFF:  # fill bytes may precede any marker
            pos += 1
        if pos >= size:
            return ScanScript(scans, ended=False, complete=False)
        marker = data[pos]
        pos += 1
        if marker == _EOI:
            break
        if marker in _STANDALONE:
            continue
        if pos + 2 > size:
            return ScanScript(scans, ended=False, complete=False)
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2:
            raise ValueError(f"segment length {length} at byte {pos}")
        if pos + length > size:
            return ScanScript(scans, ended=False, complete=False)
        segment = data[pos + 2 : pos + length]
        pos += length
        if marker in _SOF:
            if precision is not None:
                raise ValueError("more than one frame header")
            if len(segment) < 6 or len(segment) < 6 + 3 * segment[5]:
                raise ValueError("short frame header")
            precision = {segment[6 + 3 * i]: [_NEVER] * 64 for i in range(segment[5])}
            progressive = marker in _PROGRESSIVE
        elif marker == _SOS:
            if precision is None:
                raise ValueError("a scan before the frame header")
            scans += 1
            if scans > max_scans:
                return ScanScript(scans, ended=False, complete=False)
            _record_scan(segment, precision, progressive)
            found = _NEXT_MARKER.search(data, pos)
            if found is None:
                return ScanScript(scans, ended=False, complete=False)
            pos = found.start()
    complete = precision is not None and all(
        bit == 0 for bits in precision.values() for bit in bits
    )
    return ScanScript(scans, ended=True, complete=complete)


def _record_scan(segment: bytes, precision: dict[int, list[int]], progressive: bool) -> None:
    count = segment[0] if segment else 0
    if count == 0 or len(segment) < 4 + 2 * count:
        raise ValueError("short scan header")
    ids = [segment[1 + 2 * i] for i in range(count)]
    start, end, approx = segment[1 + 2 * count], segment[2 + 2 * count], segment[3 + 2 * count]
    if not progressive:  # a sequential scan carries every coefficient of its components
        start, end, approx = 0, 63, 0
    if start > end or end > 63:
        raise ValueError(f"spectral range {start}..{end}")
    for cid in ids:
        bits = precision.get(cid)
        if bits is None:
            raise ValueError(f"scan of component {cid}, which the frame lacks")
        bits[start : end + 1] = [approx & 0x0F] * (end - start + 1)  # Al: lowest bit sent so far
