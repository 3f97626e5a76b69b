"""Read a drain request's body within limits: compressed size, then decompressed size.

The body is read in chunks and gunzipped as it arrives (zlib's `max_length`
bounds each step's output), so a gzip bomb costs at most `max_plain` bytes
of memory before it is refused, never its full expansion.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator


class BodyTooLarge(Exception):
    """413: the body, or what it inflates to, is over the limit (message safe to log)."""


class BodyUnreadable(Exception):
    """400: a Content-Encoding we do not take, or a corrupt gzip stream."""


async def read_body(chunks: AsyncIterator[bytes], encoding: str, *, max_wire: int, max_plain: int) -> bytes:
    """The decompressed body. `encoding` is the Content-Encoding header ('' or 'identity', 'gzip')."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        inflater = None
    elif encoding in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflater = zlib.decompressobj()
    else:
        raise BodyUnreadable(f"Content-Encoding {encoding[:40]!r} not supported (gzip or none)")
    wire = 0
    out: list[bytes] = []
    plain = 0
    async for chunk in chunks:
        wire += len(chunk)
        if wire > max_wire:
            raise BodyTooLarge(f"body over {max_wire:,} bytes")
        if inflater is None:
            out.append(chunk)
            plain += len(chunk)
            continue
        data = chunk
        while data:
            try:
                piece = inflater.decompress(data, max_plain - plain + 1)
            except zlib.error:
                raise BodyUnreadable("corrupt gzip stream") from None
            plain += len(piece)
            if plain > max_plain:
                raise BodyTooLarge(f"body inflates to over {max_plain:,} bytes")
            out.append(piece)
            data = inflater.unconsumed_tail
            if inflater.eof:
                break
    if inflater is not None:
        try:
            tail = inflater.flush()
        except zlib.error:
            raise BodyUnreadable("corrupt gzip stream") from None
        plain += len(tail)
        if plain > max_plain:
            raise BodyTooLarge(f"body inflates to over {max_plain:,} bytes")
        out.append(tail)
        if not inflater.eof:
            raise BodyUnreadable("truncated gzip stream")
    return b"".join(out)
