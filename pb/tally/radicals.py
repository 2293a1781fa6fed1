"""Exact arithmetic on sums of square roots of integers, for quadratic funding.

A :class:`RadicalSum` is ``sum of b_m * sqrt(m)`` with integer coefficients ``b_m`` and distinct
*square-free* integers ``m`` (``m = 1`` is the rational part). Square roots of distinct square-free
integers are linearly independent over the rationals, so such a sum is zero exactly when every
coefficient is zero; otherwise its sign is found by evaluating it with ``math.isqrt`` lower and
upper bounds at increasing precision, which must eventually exclude zero. Every comparison and
every floor the funding rule needs reduces to such a sign, so all its decisions are exact.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

__all__ = ["RadicalSum", "square_free_split"]


@lru_cache(maxsize=65536)
def square_free_split(n: int) -> tuple[int, int]:
    """``(s, m)`` with ``n == s * s * m`` and ``m`` square-free, for ``n >= 1``.

    Trial division up to the cube root of what is left; what remains then has at most two prime
    factors, and holds a square exactly when it is a perfect square.
    """
    s, m = 1, 1
    rest = n
    p = 2
    while p * p * p <= rest:
        if rest % p == 0:
            e = 0
            while rest % p == 0:
                rest //= p
                e += 1
            s *= p ** (e // 2)
            if e % 2:
                m *= p
        p += 1 if p == 2 else 2
    r = math.isqrt(rest)
    if r * r == rest:
        s *= r
    else:
        m *= rest
    return s, m


class RadicalSum:
    """``sum of coefficient * sqrt(radicand)`` over square-free radicands; immutable."""

    __slots__ = ("terms",)

    def __init__(self, terms: dict[int, int] | None = None) -> None:
        self.terms: dict[int, int] = {m: b for m, b in (terms or {}).items() if b}

    @classmethod
    def integer(cls, value: int) -> RadicalSum:
        return cls({1: value})

    @classmethod
    def sqrt_sum(cls, values: list[int]) -> RadicalSum:
        """``sum of sqrt(v)`` for non-negative integers ``v``."""
        terms: dict[int, int] = {}
        for v in values:
            if v > 0:
                s, m = square_free_split(v)
                terms[m] = terms.get(m, 0) + s
        return cls(terms)

    def square(self) -> RadicalSum:
        """This sum squared, again as a sum over square-free radicands."""
        items = sorted(self.terms.items())
        out: dict[int, int] = {}
        for i, (m, a) in enumerate(items):
            out[1] = out.get(1, 0) + a * a * m
            for m2, b in items[i + 1 :]:
                g = math.gcd(m, m2)  # m, m2 square-free: sqrt(m m2) = g sqrt(m m2 / g^2)
                key = (m // g) * (m2 // g)
                out[key] = out.get(key, 0) + 2 * a * b * g
        return RadicalSum(out)

    def __add__(self, other: RadicalSum) -> RadicalSum:
        terms = dict(self.terms)
        for m, b in other.terms.items():
            terms[m] = terms.get(m, 0) + b
        return RadicalSum(terms)

    def __sub__(self, other: RadicalSum) -> RadicalSum:
        return self + other * -1

    def __mul__(self, k: int) -> RadicalSum:
        return RadicalSum({m: b * k for m, b in self.terms.items()})

    def bounds(self, bits: int) -> tuple[Fraction, Fraction]:
        """Lower and upper bounds of the value, each within ``len(terms) * |b| / 2**bits``."""
        lo = hi = 0
        for m, b in self.terms.items():
            root = math.isqrt(m << (2 * bits))  # floor(sqrt(m) * 2**bits)
            exact = root * root == m << (2 * bits)
            up = root if exact else root + 1
            if b > 0:
                lo += b * root
                hi += b * up
            else:
                lo += b * up
                hi += b * root
        return Fraction(lo, 1 << bits), Fraction(hi, 1 << bits)

    def sign(self) -> int:
        """-1, 0 or 1: the exact sign of the value."""
        if not self.terms:
            return 0
        bits = 64
        while True:
            lo, hi = self.bounds(bits)
            if lo > 0:
                return 1
            if hi < 0:
                return -1
            bits *= 2

    def floor_ratio(self, numerator: int, denominator: RadicalSum) -> int:
        """``floor(numerator * self / denominator)`` exactly, for a positive ``denominator``."""
        lo, _ = (self * numerator).bounds(96)
        _, hi = denominator.bounds(96)
        n = math.floor(lo / hi) if hi > 0 else 0
        while (self * numerator - denominator * (n + 1)).sign() >= 0:
            n += 1
        while (self * numerator - denominator * n).sign() < 0:
            n -= 1
        return n

    def floor(self) -> int:
        """``floor(self)`` exactly."""
        return self.floor_ratio(1, RadicalSum.integer(1))
