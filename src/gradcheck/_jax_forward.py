"""Forward-mode gradients in JAX: one transposed JVP, or the basis JVPs in chunks.

The forward-mode gradient of a real scalar ``fn`` has one entry per input entry, each
the JVP along a basis tangent. :func:`jvp_gradient` computes it in the first of three
ways that runs (and, for the first, agrees):

* **transposed** (:func:`transposed_gradient`): ``v ↦ jvp(fn, x, v)`` is linear in the
  tangent ``v``, so its gradient is the whole forward-mode gradient:
  ``jax.linear_transpose`` of ``jax.linearize``'s JVP transposes the tangent
  computation (a ``custom_jvp`` rule's included). O(n) work, where the basis JVPs are
  n JVPs of O(n) each (a scalar function of 10⁴ entries: 6.0 s for the whole
  ``check_function(modes=("fwd",))`` by them, 1.8 s this way, at load 6-7). The result
  is checked against the JVP along one random tangent ``r`` (``gᵀr = jvp(fn, x, r)``
  within :data:`AGREE_ROUNDOFFS`, as ``gradcheck._torch_forward``'s twin): a rule that
  is not linear in its tangent (a constant added) disagrees (the transposition
  linearises at ``v = 0``, the basis JVPs count the constant once per entry) and takes
  the next way, as does a function JAX cannot transpose (a ``lax.while_loop``);
* **chunked** (:func:`chunked_gradient`): ``jax.jacfwd`` computes the basis JVPs in one
  ``vmap`` over all ``n`` basis tangents, so it holds ``n × n`` values for every
  intermediate: at ``n = 5000`` it took 10.7 s and 1.0 GB (``sin(x) · roll(x, 1)``, 2
  shared cores), and at ``n = 10⁵`` it would need 80 GB per intermediate. This computes
  the same JVPs with ``jax.lax.map`` under ``jax.jit``, :data:`BATCH_ENTRIES` tangent
  entries per vectorised batch (3.0 s and 0.38 GB at ``n = 5000``), one input leaf at a
  time, each tangent in its leaf's own dtype. ``custom_jvp`` rules run, as under
  ``jax.jacfwd``;
* where that raises too (tracing under ``jax.jit`` refuses something that
  ``jax.jacfwd`` runs eagerly), ``jax.jacfwd`` itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gradcheck._evaluate import GlobalRng

__all__ = [
    "AGREE_ROUNDOFFS",
    "BATCH_ENTRIES",
    "Linearised",
    "chunked_gradient",
    "jvp_gradient",
    "transposed_gradient",
]

#: The tangent entries one vectorised batch holds (a batch of ``c`` tangents of ``n``
#: entries is ``c·n`` entries): 2²² float64 values, 32 MiB, times what the function
#: keeps per entry, so a batch stays in the tens of MiB whatever ``n`` (the same bound
#: as ``gradcheck._torch_forward.BATCH_ENTRIES``).
BATCH_ENTRIES = 2**22
#: The transposed gradient must give ``gᵀr`` within this many unit round-offs (of the
#: coarsest of the inputs' dtypes and the value's) of ``Σ_j |r_j g_j|`` of one JVP along
#: ``r``: the same products summed in another order differ by about ``√n`` round-offs
#: of that sum (Higham, *Accuracy and Stability of Numerical Algorithms*, §4.2); a rule
#: that is not linear in its tangent is off by far more, and a disagreement only costs
#: the basis JVPs (as ``gradcheck._torch_forward.AGREE_ROUNDOFFS``).
AGREE_ROUNDOFFS = 1000.0


class Linearised(NamedTuple):
    """What :func:`transposed_gradient` found: the gradient, and ``fn``'s JVP at the
    point as a function of the tangents (``jax.linearize``'s: ``fn`` is not traced
    again to use it)."""

    gradient: list[Any]
    jvp: Callable[[list[Any]], Any]


def jvp_gradient(fn: Callable[[list[Any]], Any], xs: Sequence[Any]) -> list[Any]:
    """``jax.jacfwd(fn)(xs)`` for real leaves: :func:`transposed_gradient` where it runs
    and agrees with a JVP along a random tangent, else :func:`chunked_gradient`, or
    where that raises, ``jax.jacfwd`` itself (which raises the user's error, if any,
    as before). Each way traces ``fn`` once, from the global NumPy and ``random``
    states as they were on entry (a ``fn`` that draws from them traces as it did)."""
    leaves = [jnp.asarray(x) for x in xs]
    rng = GlobalRng()
    try:
        lin = transposed_gradient(fn, leaves)
        if _agrees(lin, leaves):
            return lin.gradient
    except Exception:  # JAX cannot transpose it (or fn raised): the basis JVPs
        pass
    rng.reset()
    try:
        return chunked_gradient(fn, leaves)
    except Exception:  # jit refused what jacfwd may run eagerly: the old way
        rng.reset()
        return list(jax.jacfwd(fn)(list(leaves)))


def transposed_gradient(fn: Callable[[list[Any]], Any], xs: Sequence[Any]) -> Linearised:
    """The gradient of the real scalar ``fn(xs)`` as the transpose of its JVP.

    ``jax.linearize`` traces ``fn``'s JVP once (a ``custom_jvp`` rule's tangent
    computation included) and ``jax.linear_transpose`` transposes it: O(n) work. It
    equals the basis JVPs where the rule is linear in its tangent (:func:`jvp_gradient`
    checks that).

    Args:
        fn: a real scalar function of the list of leaves ``xs``.
        xs: real floating JAX arrays.

    Returns:
        The gradient, one array per leaf, shaped like it, in the dtype of ``fn``'s
        value (as ``jax.jacfwd`` returns it); and the JVP.
    """
    leaves = [jnp.asarray(x) for x in xs]
    value, jvp = jax.linearize(fn, leaves)
    (grads,) = jax.linear_transpose(jvp, leaves)(jnp.ones_like(value))
    dtype = jnp.result_type(value)
    gradient = [jnp.asarray(g, dtype=dtype).reshape(x.shape) for g, x in zip(grads, leaves)]
    return Linearised(gradient, jvp)


def chunked_gradient(fn: Callable[[list[Any]], Any], xs: Sequence[Any]) -> list[Any]:
    """The gradient of the real scalar ``fn(xs)`` by one JVP per input entry.

    Args:
        fn: a real scalar function of the list of leaves ``xs``.
        xs: real floating JAX arrays.

    Returns:
        One array per leaf, shaped like it: entry ``j`` is the JVP of ``fn`` along the
        basis tangent of that entry (what ``jax.jacfwd(fn)(xs)`` returns).
    """
    leaves = [jnp.asarray(x) for x in xs]
    total = sum(int(x.size) for x in leaves)
    per = max(1, BATCH_ENTRIES // max(total, 1))
    return [
        _leaf_gradient(fn, leaves, p, min(per, int(x.size))).reshape(x.shape)
        for p, x in enumerate(leaves)
    ]


def _leaf_gradient(fn: Callable[[list[Any]], Any], xs: list[Any], p: int, per: int) -> Any:
    """Leaf ``p``'s gradient, flat: ``lax.map`` of the JVPs, ``per`` entries a batch."""

    def gradient(leaves: list[Any]) -> Any:
        zeros = [jnp.zeros_like(x) for x in leaves]
        x = leaves[p]

        def entry(j: Any) -> Any:
            basis = jnp.zeros(x.size, x.dtype).at[j].set(1).reshape(x.shape)
            tangents = [*zeros[:p], basis, *zeros[p + 1 :]]
            return jax.jvp(fn, (list(leaves),), (tangents,))[1]

        return jax.lax.map(entry, jnp.arange(x.size), batch_size=per)

    return jax.jit(gradient)(xs)


def _agrees(lin: Linearised, xs: list[Any]) -> bool:
    """Whether ``gᵀr`` of the gradient is the JVP along a random tangent ``r`` (every
    leaf at once), up to round-off (:data:`AGREE_ROUNDOFFS`)."""
    draw = np.random.default_rng(len(xs))
    rs = [draw.standard_normal(x.shape) for x in xs]
    tangents = [jnp.asarray(r, dtype=x.dtype) for r, x in zip(rs, xs)]
    direct = float(lin.jvp(tangents))
    terms = [
        np.asarray(t, dtype=np.float64) * np.asarray(g, dtype=np.float64)
        for t, g in zip(tangents, lin.gradient)
    ]
    claimed = float(sum(np.sum(a) for a in terms))
    size = float(sum(np.sum(np.abs(a)) for a in terms)) + abs(direct)
    dtypes = [x.dtype for x in (*xs, *lin.gradient)]  # the gradient's: fn's value's
    eps = max((_eps(d) for d in dtypes), default=0.0)
    return math.isfinite(claimed) and abs(claimed - direct) <= AGREE_ROUNDOFFS * eps * size


def _eps(dtype: Any) -> float:
    return float(jnp.finfo(dtype).eps)  # type: ignore[no-untyped-call]
