"""Cooperative games: coalition values, the Shapley value and Nash bargaining (numpy only).

The parties of a scenario play a transferable-utility game whose worth is NPV of net benefit
[yuan]. Each party's disagreement point is its standalone (no-agreement) value
(``docs/model.md`` §3.6); the grand coalition is the cooperation as modelled. This module holds
the game and its solutions; :mod:`benefitshare.model.coalitions` computes coalition values with
the engine.

Every array that carries draws keeps them on its last axis here: a game's values are
``(2**n, D)``, allocations ``(n, D)``; a deterministic run is ``D = 1``.

References
----------
Shapley, L. S. (1953). A value for n-person games. In *Contributions to the Theory of Games II*,
Annals of Mathematics Studies 28, 307-317.
Nash, J. F. (1950). The bargaining problem. *Econometrica* 18(2), 155-162.
李学文, 石战强, 郜钏贝 (2023). 基于Shapley值法的"消薄飞地"收益分配方案研究. 中国土地科学 37(11)
(Shapley allocation among the governments of an enclave park).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "CoalitionGame",
    "MAX_EXACT_PLAYERS",
    "shapley_values",
    "nash_split",
    "project_to_simplex",
    "lazy",
]

#: Largest number of players for exact Shapley enumeration (2**n coalitions).
MAX_EXACT_PLAYERS = 20


@dataclasses.dataclass(frozen=True)
class CoalitionGame:
    """A transferable-utility game: a value for every coalition of players.

    Attributes
    ----------
    players : tuple of str
        Player (party) ids; player ``i`` is bit ``i`` of a coalition's index.
    values : ndarray, shape (2**n, D)
        ``values[m]`` is the worth of the coalition whose members are the set bits of ``m``
        [yuan], one column per draw. ``values[0]`` is 0 (the empty coalition).
    note : str
        How the values were obtained (for reports).
    """

    players: tuple[str, ...]
    values: np.ndarray
    note: str = ""

    def __post_init__(self):
        n = len(self.players)
        v = np.asarray(self.values, dtype=float)
        if v.ndim == 1:
            v = v[:, None]
        if v.shape[0] != 2**n:
            raise ValueError(
                f"a game of {n} players needs 2**{n} = {2**n} coalition values, got {v.shape[0]}"
            )
        object.__setattr__(self, "values", v)

    @property
    def n_players(self) -> int:
        return len(self.players)

    @property
    def n_draws(self) -> int:
        return self.values.shape[1]

    def mask(self, coalition: Iterable[str]) -> int:
        """Bitmask of a coalition given by player ids."""
        m = 0
        for p in coalition:
            m |= 1 << self.players.index(p)
        return m

    def value(self, coalition: Iterable[str]) -> np.ndarray:
        """Worth of a coalition, shape (D,) [yuan]."""
        return self.values[self.mask(coalition)]

    @property
    def standalone(self) -> np.ndarray:
        """Each player's value alone, v({i}), shape (n, D) [yuan]."""
        return np.stack([self.values[1 << i] for i in range(self.n_players)])

    @property
    def grand(self) -> np.ndarray:
        """Worth of the grand coalition v(N), shape (D,) [yuan]."""
        return self.values[-1]

    @property
    def surplus(self) -> np.ndarray:
        """Gain from cooperating: v(N) minus the sum of standalone values, shape (D,) [yuan]."""
        return self.grand - self.standalone.sum(axis=0)

    def shapley(self) -> np.ndarray:
        """Shapley value of each player, shape (n, D) [yuan]."""
        return shapley_values(self.values)

    def nash(self, weights: Sequence[float] | Mapping[str, float] | None = None) -> np.ndarray:
        """(Weighted) Nash bargaining split over the standalone values, shape (n, D) [yuan]."""
        if isinstance(weights, Mapping):
            weights = [float(weights.get(p, 0.0)) for p in self.players]
        return nash_split(self.standalone, self.grand, weights)

    def mean(self) -> CoalitionGame:
        """The game of expected values (mean over draws)."""
        return CoalitionGame(self.players, self.values.mean(axis=1, keepdims=True), self.note)


def _popcount(masks: np.ndarray) -> np.ndarray:
    out = np.zeros_like(masks)
    m = masks.copy()
    while m.any():
        out += m & 1
        m >>= 1
    return out


def _values_array(values, players) -> tuple[np.ndarray, int]:
    """Coalition values as a (2**n, ...) array indexed by bitmask."""
    if isinstance(values, CoalitionGame):
        return values.values, values.n_players
    if isinstance(values, Mapping) or callable(values):
        if players is None:
            if not isinstance(values, Mapping):
                raise ValueError("give the players when the coalition values are a function")
            players = sorted({p for key in values for p in key})
        players = list(players)
        n = len(players)
        if n > MAX_EXACT_PLAYERS:
            raise ValueError(
                f"exact Shapley values need at most {MAX_EXACT_PLAYERS} players, got {n}"
            )
        rows = []
        for m in range(2**n):
            members = frozenset(players[i] for i in range(n) if m >> i & 1)
            if isinstance(values, Mapping):
                if m == 0:
                    rows.append(np.asarray(values.get(members, 0.0), dtype=float))
                    continue
                if members not in values:
                    raise ValueError(f"no value given for the coalition {sorted(members)}")
                rows.append(np.asarray(values[members], dtype=float))
            else:
                rows.append(np.asarray(values(members), dtype=float))
        shape = np.broadcast_shapes(*(r.shape for r in rows))
        return np.stack([np.broadcast_to(r, shape) for r in rows]), n
    arr = np.asarray(values, dtype=float)
    n = int(round(math.log2(arr.shape[0]))) if arr.shape[0] > 0 else -1
    if n < 0 or 2**n != arr.shape[0]:
        raise ValueError(
            f"coalition values must have 2**n rows (one per coalition), got {arr.shape[0]}"
        )
    return arr, n


def shapley_values(values, players: Sequence[str] | None = None) -> np.ndarray:
    """Shapley value of every player of a transferable-utility game, by exact enumeration.

    Parameters
    ----------
    values : ndarray of shape (2**n, ...), mapping, callable or CoalitionGame
        Worth of every coalition [yuan]. As an array, row ``m`` is the coalition whose members are
        the set bits of ``m`` (player ``i`` is bit ``i``); trailing axes (e.g. draws) are carried
        through. As a mapping, keys are frozensets of player ids (the empty coalition may be
        omitted). As a callable, ``values(frozenset_of_players)``.
    players : sequence of str, optional
        Player order for a mapping or callable (the sorted ids of the mapping by default).

    Returns
    -------
    ndarray, shape (n, ...)
        ``phi[i]`` [yuan], in player order.

    Raises
    ------
    ValueError
        If the number of coalition values is not a power of two, a coalition is missing, or
        there are more than :data:`MAX_EXACT_PLAYERS` players.

    Notes
    -----
    ``phi_i = sum over S not containing i of |S|! (n - |S| - 1)! / n! * (v(S + i) - v(S))``,
    evaluated for all ``2**(n-1)`` coalitions without ``i``: O(n 2**n) operations, exact for the
    dozen or so parties a co-built park has (Shanwei's counties as parties).

    Efficiency (the values sum to ``v(N) - v(empty)``), symmetry, the null-player property and
    additivity hold exactly; they are tested. With two players the Shapley value is each
    player's standalone value plus half the surplus.

    References
    ----------
    Shapley (1953).

    Examples
    --------
    >>> shapley_values([0.0, 1.0, 2.0, 7.0])   # v({a}) = 1, v({b}) = 2, v({a, b}) = 7
    array([3., 4.])
    """
    v, n = _values_array(values, players)
    if n > MAX_EXACT_PLAYERS:
        raise ValueError(f"exact Shapley values need at most {MAX_EXACT_PLAYERS} players, got {n}")
    if n == 0:
        return np.zeros((0, *v.shape[1:]))
    masks = np.arange(2**n)
    size = _popcount(masks)
    fact = [math.factorial(k) for k in range(n + 1)]
    weight_by_size = np.array(
        [fact[s] * fact[n - s - 1] / fact[n] if s < n else 0.0 for s in range(n + 1)]
    )
    out = np.empty((n, *v.shape[1:]))
    extra = (1,) * (v.ndim - 1)
    for i in range(n):
        bit = 1 << i
        without = masks[(masks & bit) == 0]
        w = weight_by_size[size[without]].reshape(-1, *extra)
        out[i] = np.sum(w * (v[without | bit] - v[without]), axis=0)
    return out


def nash_split(standalone, total, weights: Sequence[float] | None = None) -> np.ndarray:
    """Nash bargaining split of a total over the parties' standalone values (transferable utility).

    Parameters
    ----------
    standalone : array_like, shape (n, ...)
        Disagreement point: each party's value without an agreement [yuan].
    total : array_like, shape (...)
        Worth of the agreement to all parties together, v(N) [yuan].
    weights : sequence of float, optional
        Bargaining weights (normalised to sum to 1); equal weights by default (the symmetric
        Nash solution).

    Returns
    -------
    ndarray, shape (n, ...)
        ``u_i = d_i + w_i * (total - sum(d))`` [yuan].

    Raises
    ------
    ValueError
        If a weight is negative or all weights are 0.

    Notes
    -----
    With transferable utility the feasible set is ``sum(u) <= total``; maximising the Nash
    product ``prod_i (u_i - d_i) ** w_i`` on it gives every party its disagreement value plus the
    weight's share of the surplus (closed form for any n; with two parties and equal weights it
    coincides with the Shapley value). When the surplus is negative no agreement leaves every
    party at least its standalone value; the formula then divides the loss by the weights, and
    callers should treat the split as infeasible (see :func:`benefitshare.compare.compare_rules`).

    References
    ----------
    Nash (1950); the weighted (asymmetric) form: Kalai, E. (1977), Nonsymmetric Nash solutions
    and replications of 2-person bargaining, *International Journal of Game Theory* 6(3), 129-133.

    Examples
    --------
    >>> nash_split([1.0, 2.0], 7.0)
    array([3., 4.])
    >>> nash_split([1.0, 2.0], 7.0, weights=[3, 1])
    array([4. , 3. ])
    """
    d = np.asarray(standalone, dtype=float)
    n = d.shape[0]
    if weights is None:
        w = np.full(n, 1.0 / n)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (n,):
            raise ValueError(f"need one weight per party ({n}), got {w.shape}")
        if (w < 0).any() or not w.sum() > 0:
            raise ValueError(
                f"bargaining weights must be non-negative and not all 0, got {w.tolist()}"
            )
        w = w / w.sum()
    surplus = np.asarray(total, dtype=float) - d.sum(axis=0)
    return d + w.reshape(-1, *(1,) * (d.ndim - 1)) * surplus[None]


def project_to_simplex(x: np.ndarray) -> np.ndarray:
    """Euclidean projection of each column of ``x`` (n, ...) onto the probability simplex.

    Used to turn target pool shares that fall outside [0, 1] into the nearest valid shares.
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    flat = x.reshape(n, -1)
    u = -np.sort(-flat, axis=0)
    css = np.cumsum(u, axis=0) - 1.0
    k = np.arange(1, n + 1)[:, None]
    cond = u - css / k > 0
    rho = n - 1 - np.argmax(cond[::-1], axis=0)
    theta = css[rho, np.arange(flat.shape[1])] / (rho + 1)
    return np.maximum(flat - theta[None], 0.0).reshape(x.shape)


def lazy(fn: Callable[[], CoalitionGame]) -> Callable[[], CoalitionGame]:
    """Memoise a zero-argument game builder (used for the rule context)."""
    cache: list[CoalitionGame] = []

    def get() -> CoalitionGame:
        if not cache:
            cache.append(fn())
        return cache[0]

    return get
