"""Raw quadratic-funding matches as exact reals: rigorous integer bounds, exact signs and floors.

A project's *raw match* is ``raw = S**2 - T`` with ``S = sum sqrt(c)`` and ``T = sum c`` over
its residents' (positive, integer) contributions ``c``. :class:`RawMatch` never expands the
``n**2`` cross terms of ``S**2``; it answers the questions the funding rule asks in ``O(n)``
integer square roots per level of precision.

Bounds. For a precision ``k``, ``r = isqrt(c * 4**k)`` gives ``r <= sqrt(c) * 2**k < r + 1``,
with equality on the left exactly when ``r * r == c * 4**k``. Summing (with multiplicities),
``L <= S * 2**k <= H`` where ``H = L + (number of inexact roots)``, hence
``max(L*L - T*4**k, 0) <= raw * 4**k <= H*H - T*4**k`` (``raw >= 0`` always). The width is about
``2 * S * n / 2**k``: doubling ``k`` squares the accuracy.

Exact values. ``S**2`` is an integer exactly when every ``c`` has the same square-free part
(``c_i * c_j`` a perfect square for all pairs; then ``S**2 = (sum isqrt(c_i c_0))**2 / c_0``).
Such a raw match is held as that integer and never approximated.

Signs. :func:`sign` decides the sign of ``const + sum a_q * x_q`` for integers ``a_q`` and raw
matches (or :class:`RawTotal` sums of them) ``x_q``. It evaluates the bounds at precision
``64, 128, 256, ...`` until the interval excludes zero. Termination and exactness:

* write each irrational raw match over square-free radicands: ``S = sum_m s_m sqrt(m)`` with
  integers ``s_m > 0``, so ``S**2 - T`` = an integer + ``sum_{m < m'} 2 s_m s_m' sqrt(m m')``;
  every irrational coefficient is *positive* and no radicand is 1 (``m != m'``). Square roots
  of distinct square-free integers are linearly independent over the rationals, so
* if the (nonzero) coefficients of the irrational raw matches in the combination all have one
  sign, the irrational parts cannot cancel: the value is irrational, hence not zero, and the
  refinement must stop (the interval shrinks to the value);
* if every irrational raw match has coefficient 0 after grouping, the value is the integer
  ``const + sum a_q * exact_q`` and is returned as such;
* raw matches with the same amounts are the same number, so their coefficients are added up
  first (two projects with identical pledges and the pool split evenly cancel exactly here);
* only with coefficients of both signs left can the value be exactly zero. Then the
  combination is expanded exactly over square-free radicands with
  :class:`pb.tally.radicals.RadicalSum` (whose sign is exact): at once when that costs little
  (few distinct amounts), otherwise after refining to ``2**-4096`` (a real tie then needs
  projects whose irrational parts cancel without being copies: contrived, and the expansion
  costs the square of their numbers of distinct amounts).

So every sign is exact; intervals only make the common case fast. :func:`floor_share` and
:func:`floor_raw` narrow the interval to one candidate integer ``n`` and decide ``value >= n``
with :func:`sign`, so floors are exact too.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

from pb.tally.radicals import RadicalSum, square_free_split

__all__ = ["RawMatch", "RawTotal", "floor_raw", "floor_share", "sign"]

FIRST_BITS = 64
"""Precision of the first evaluation: enough to decide almost every question at once."""

LAST_BITS = 4096
"""Precision after which a combination that may vanish is expanded exactly, however large."""

CHEAP_EXPANSION = 50_000
"""Expand exactly at once when the squared numbers of distinct amounts sum to at most this."""


class RawMatch:
    """The raw match of one project, from its residents' contributions (each resident's
    pledges to the project summed first; zero contributions are ignored)."""

    __slots__ = ("_bounds", "_radical", "amounts", "backers", "exact", "total")

    def __init__(self, contributions: Iterable[int]) -> None:
        counts = Counter(c for c in contributions if c > 0)
        self.amounts: tuple[tuple[int, int], ...] = tuple(sorted(counts.items()))
        self.backers = sum(counts.values())
        self.total = sum(c * n for c, n in self.amounts)
        self.exact: int | None = self._integer_value()
        self._bounds: dict[int, tuple[int, int]] = {}
        self._radical: RadicalSum | None = None

    def _integer_value(self) -> int | None:
        """The raw match when it is an integer (one square-free part), else ``None``."""
        if not self.amounts:
            return 0
        first = self.amounts[0][0]
        scaled = 0  # S * sqrt(first), an integer when all amounts share a square-free part
        for c, n in self.amounts:
            root = math.isqrt(c * first)
            if root * root != c * first:
                return None
            scaled += n * root
        square, rest = divmod(scaled * scaled, first)
        assert rest == 0, "S**2 = s**2 * m is a whole number"
        return square - self.total

    def leaves(self) -> tuple[RawMatch, ...]:
        return (self,)

    def bounds(self, bits: int) -> tuple[int, int]:
        """``(lo, hi)`` with ``lo <= raw * 4**bits <= hi`` (module docstring)."""
        if self.exact is not None:
            value = self.exact << (2 * bits)
            return value, value
        cached = self._bounds.get(bits)
        if cached is not None:
            return cached
        low = high = 0
        for c, n in self.amounts:
            scaled = c << (2 * bits)
            root = math.isqrt(scaled)
            low += n * root
            high += n * (root if root * root == scaled else root + 1)
        total = self.total << (2 * bits)
        result = (max(low * low - total, 0), high * high - total)
        self._bounds[bits] = result
        return result

    def radical(self) -> RadicalSum:
        """The raw match expanded exactly over square-free radicands (costly: ``O(k**2)`` in
        the number ``k`` of distinct amounts; used only for possible exact ties)."""
        if self._radical is None:
            terms: dict[int, int] = {}
            for c, n in self.amounts:
                s, m = square_free_split(c)
                terms[m] = terms.get(m, 0) + n * s
            self._radical = RadicalSum(terms).square() - RadicalSum.integer(self.total)
        return self._radical


class RawTotal:
    """The sum of several raw matches, with its bounds computed once per precision."""

    __slots__ = ("_bounds", "exact", "parts")

    def __init__(self, parts: Iterable[RawMatch]) -> None:
        self.parts = tuple(parts)
        exacts = [p.exact for p in self.parts]
        self.exact: int | None = None if None in exacts else sum(e for e in exacts if e)
        self._bounds: dict[int, tuple[int, int]] = {}

    def leaves(self) -> tuple[RawMatch, ...]:
        return self.parts

    def bounds(self, bits: int) -> tuple[int, int]:
        cached = self._bounds.get(bits)
        if cached is None:
            low = high = 0
            for part in self.parts:
                lo, hi = part.bounds(bits)
                low += lo
                high += hi
            cached = self._bounds[bits] = (low, high)
        return cached


class _Real(Protocol):
    exact: int | None

    def bounds(self, bits: int) -> tuple[int, int]: ...

    def leaves(self) -> tuple[RawMatch, ...]: ...


def _sign_of(value: int) -> int:
    return (value > 0) - (value < 0)


def _grouped(terms: Sequence[tuple[int, _Real]], const: int) -> tuple[int, dict[RawMatch, int]]:
    """The combination as ``rest + sum(a * leaf)``: whole raw matches folded into the integer
    ``rest``, and each irrational one with its total coefficient (leaves with the same amounts
    are the same number: their coefficients add up, so identical projects cancel exactly)."""
    rest = const
    by_amounts: dict[tuple[tuple[int, int], ...], tuple[RawMatch, int]] = {}
    for a, x in terms:
        for leaf in x.leaves():
            if leaf.exact is not None:
                rest += a * leaf.exact
            else:
                first, b = by_amounts.get(leaf.amounts, (leaf, 0))
                by_amounts[leaf.amounts] = (first, b + a)
    return rest, {leaf: a for leaf, a in by_amounts.values() if a}


def sign(terms: Sequence[tuple[int, _Real]], const: int = 0) -> int:
    """-1, 0 or 1: the exact sign of ``const + sum(a * x for a, x in terms)`` (module doc)."""
    inexact = []
    for a, x in terms:
        if a and x.exact is not None:
            const += a * x.exact
        elif a:
            inexact.append((a, x))
    if not inexact:
        return _sign_of(const)
    bits = FIRST_BITS
    grouped: dict[RawMatch, int] | None = None
    while True:
        low = high = const << (2 * bits)
        for a, x in inexact:
            lo, hi = x.bounds(bits)
            if a > 0:
                low, high = low + a * lo, high + a * hi
            else:
                low, high = low + a * hi, high + a * lo
        if low > 0:
            return 1
        if high < 0:
            return -1
        if grouped is None:  # undecided at once: could the value be exactly zero?
            rest, grouped = _grouped(inexact, const)
            if not grouped:
                return _sign_of(rest)
            if min(grouped.values()) > 0 or max(grouped.values()) < 0:
                grouped = {}  # one sign: irrational, never zero; refine until decided
        if grouped and (
            bits >= LAST_BITS or sum(len(leaf.amounts) ** 2 for leaf in grouped) <= CHEAP_EXPANSION
        ):
            exact = RadicalSum.integer(rest)
            for leaf, a in grouped.items():
                exact = exact + leaf.radical() * a
            return exact.sign()
        bits *= 2


def floor_raw(raw: RawMatch) -> int:
    """``floor(raw)``, exactly."""
    if raw.exact is not None:
        return raw.exact
    bits = FIRST_BITS
    while True:
        lo, hi = raw.bounds(bits)
        low, high = lo >> (2 * bits), hi >> (2 * bits)
        if low == high:
            return low
        if high - low == 1:  # low <= raw < high + 1: is raw >= high?
            return high if sign([(1, raw)], -high) >= 0 else low
        bits *= 2


def floor_share(raw: RawMatch, amount: int, total: RawTotal) -> int:
    """``floor(amount * raw / total)``, exactly, for ``amount >= 0`` and ``total > 0``."""
    if raw.exact is not None and total.exact is not None:
        return amount * raw.exact // total.exact
    bits = FIRST_BITS
    while True:
        lo, hi = raw.bounds(bits)
        total_lo, total_hi = total.bounds(bits)
        if total_lo > 0:
            low, high = amount * lo // total_hi, amount * hi // total_lo
            if low == high:
                return low
            if high - low == 1:  # is amount * raw - high * total >= 0?
                return high if sign([(amount, raw), (-high, total)]) >= 0 else low
        bits *= 2
