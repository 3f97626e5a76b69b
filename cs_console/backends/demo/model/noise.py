"""Deterministic noise for the demo: every value is a pure function of (seed, key, time).

Nothing here keeps state, so any simulated second can be evaluated in any
order (history windows, follow mode, tests) and always gives the same number.
"""

from __future__ import annotations

import math
import zlib
from functools import lru_cache

_MASK = (1 << 64) - 1


def mix64(z: int) -> int:
    """splitmix64's finaliser: a fast, well-spread 64-bit hash of an integer."""
    z = (z + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


@lru_cache(maxsize=4096)
def key_id(name: str) -> int:
    """A stable integer for a noise channel name (crc32 is stable across runs, hash() is not)."""
    return zlib.crc32(name.encode()) | (len(name) << 32)


def hash3(seed: int, key: str, n: int) -> int:
    return mix64((seed * 0x9E3779B97F4A7C15) ^ (key_id(key) * 0xC2B2AE3D27D4EB4F) ^ (n & _MASK))


def unit(seed: int, key: str, n: int) -> float:
    """Uniform in [0, 1) for lattice point n of channel key."""
    return (hash3(seed, key, n) >> 11) * (1.0 / (1 << 53))


def signed(seed: int, key: str, n: int) -> float:
    """Uniform in [-1, 1)."""
    return unit(seed, key, n) * 2.0 - 1.0


def _lattice_value(k: int, i: int) -> float:
    z = (k ^ (i & _MASK)) + 0x9E3779B97F4A7C15 & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return ((z ^ (z >> 31)) >> 11) * (2.0 / (1 << 53)) - 1.0


class _Layer:
    """One value-noise layer with a one-entry cache: time mostly moves forward, so the two
    lattice points around t rarely change between calls."""

    __slots__ = ("key", "period", "i", "a", "b")

    def __init__(self, key: int, period: float) -> None:
        self.key = key
        self.period = period
        self.i: int | None = None
        self.a = 0.0
        self.b = 0.0

    def at(self, t: float) -> float:
        x = t / self.period
        i = math.floor(x)
        if i != self.i:
            self.i = i
            self.a = _lattice_value(self.key, i)
            self.b = _lattice_value(self.key, i + 1)
        f = x - i
        f = f * f * (3.0 - 2.0 * f)
        return self.a + (self.b - self.a) * f


_layers: dict[tuple[int, str, float], _Layer] = {}


def _layer(seed: int, key: str, period: float) -> _Layer:
    layer = _layers.get((seed, key, period))
    if layer is None:
        k = mix64((seed * 0x9E3779B97F4A7C15) ^ (key_id(key) * 0xC2B2AE3D27D4EB4F)) & _MASK
        layer = _layers[(seed, key, period)] = _Layer(k, period)
    return layer


def smooth(seed: int, key: str, t: float, period: float) -> float:
    """Value noise in [-1, 1]: random lattice values every `period` seconds, smoothstep between."""
    return _layer(seed, key, period).at(t)


class _Wobble:
    __slots__ = ("slow", "mid", "fast")

    def __init__(self, seed: int, key: str) -> None:
        self.slow = _Layer(mix64(seed ^ key_id(key + "/slow")), 900.0)
        self.mid = _Layer(mix64(seed ^ key_id(key + "/mid")), 75.0)
        self.fast = _Layer(mix64(seed ^ key_id(key + "/fast")), 6.0)


_wobbles: dict[tuple[int, str], _Wobble] = {}


def wobble(seed: int, key: str, t: float) -> float:
    """Layered noise in about [-1, 1]: slow drift, minute-scale swings and a little jitter."""
    w = _wobbles.get((seed, key))
    if w is None:
        w = _wobbles[(seed, key)] = _Wobble(seed, key)
    return 0.5 * w.slow.at(t) + 0.35 * w.mid.at(t) + 0.15 * w.fast.at(t)


def unit_ints(seed: int, a: int, b: int) -> float:
    """Uniform in [0, 1) for two integers (no string keys: for hot loops)."""
    z = ((seed * 0x9E3779B97F4A7C15) ^ (a * 0xC2B2AE3D27D4EB4F) ^ b) & _MASK
    z = (z + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return ((z ^ (z >> 31)) >> 11) * (1.0 / (1 << 53))


def jiggle(seed: int, key: str, s: float) -> float:
    """Cheaper noise (one layer, half-minute swings) for secondary figures."""
    return smooth(seed, key, s, 30.0)
