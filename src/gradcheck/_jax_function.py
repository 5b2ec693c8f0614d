"""``gradcheck.jax.check_function``'s machinery: the function at the user's arguments.

:class:`Function` runs ``fn`` once (``jax.vjp``, the user's pass), draws each floating
output's cotangent (with every entry's fair share where it can), probes forward mode,
and makes each mode's check of each output through the adapters' shared precision
routes (:func:`gradcheck._jax_side.check_routes`); :func:`agreement_x64` is the
JVP–VJP consistency of its rules again in x64 mode (``gradcheck._adapters``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradcheck._adapter_complex import RealViews, cotangent, widen
from gradcheck._adapters import (
    Consistency,
    Mode,
    NoForward,
    Options,
    Run,
    consistency,
    fair_share,
    magnitudes,
    retry_failed,
    run_name,
)
from gradcheck._errors import GradcheckError
from gradcheck._evaluate import GlobalRng
from gradcheck._frameworks import Analytic
from gradcheck._jacdir import random_steps
from gradcheck._jax_args import eps, fold, forward_gradient, least_precise, value_of
from gradcheck._jax_side import check_routes

Array = np.ndarray[Any, Any]
#: The error when reverse mode cannot transpose fn's forward rule (F29).
UNTRANSPOSABLE = (
    "the VJP (jax.vjp) of fn cannot be computed: JAX transposes fn's forward rule (a "
    "custom_jvp rule) and raised NotImplementedError: {error}; a custom_jvp rule must be "
    "linear in its tangent (jnp.abs(t), t**2 or a branch on t are not), or check "
    "modes=('fwd',)"
)
#: What ``jax.jvp`` raises on a function with no forward mode: a ``custom_vjp``
#: function (``TypeError: can't apply forward-mode autodiff (jvp) to a custom_vjp
#: function``), a ``pure_callback`` (``ValueError: Pure callbacks do not support JVP``).
NO_FORWARD = ("custom_vjp", "do not support JVP")


def agreement_x64(
    make: Callable[..., Function],
    leaves: list[Any],
    views: RealViews,
    dims: tuple[list[tuple[int, ...]], list[tuple[int, ...]]],
    seed: int,
    rng: GlobalRng,
) -> Consistency | str:
    """The JVP–VJP consistency of ``fn``'s rules again, in x64 mode on float64 copies
    of its ``leaves`` (where that copy cannot run: the report's note saying why).

    Low-precision rules that are right can disagree by more than the sums' round-off
    the allowance counts: each carries its own cancellation (softmax cross-entropy of a
    confident classifier in float32, attack21 B5). A wrong rule is wrong in float64
    too; one wrong in float32 alone is the entry check's to see.
    """
    try:
        with jax.enable_x64(True):
            wide = [jnp.asarray(x, dtype=np.result_type(x.dtype, np.float64)) for x in leaves]
            f = make(wide, seed, rng)
            floor = magnitudes(wide, [f.outs[k] for k in f.floating])
            return consistency(
                views.jvp(f.jvp), views.vjp(f.vjp), *dims, eps(np.float64), seed, floor
            )
    except Exception as exc:  # no float64 copy (float32 constants inside fn)
        low = max((x.dtype for x in leaves), key=eps)
        return retry_failed(exc, str(low))


class Function:
    """``fn`` at the user's arguments: its outputs, cotangents, and one check per run."""

    def __init__(
        self,
        outputs: Callable[[Sequence[Any]], list[Any]],
        names: list[str],
        leaves: list[Any],
        seed: int,
        rng: GlobalRng,
    ) -> None:
        self.outputs, self.names, self.leaves = outputs, names, leaves
        self.seed, self.rng = seed, rng
        self.forward: dict[int, list[Array]] = {}  # w_kᵀJ from basis tangents, by run()
        self.probed: list[Array] | None = None  # the reverse probe's uᵀJ, by reverse()
        rng.reset()
        try:
            self.outs, self.pullback = jax.vjp(lambda *xs: outputs(xs), *leaves)
        except Exception as exc:
            raise GradcheckError(f"fn raised {type(exc).__name__}: {exc}") from exc
        self.floating = [k for k, o in enumerate(self.outs) if jnp.issubdtype(o.dtype, jnp.inexact)]
        if not self.floating:
            raise GradcheckError("no output of fn is a floating array: is it differentiable?")
        draw = np.random.default_rng([seed, 5])
        self.ws = {
            k: cotangent(draw, self.outs[k].shape, jnp.iscomplexobj(self.outs[k]))
            for k in self.floating
        }
        self.ws.update(self._shares())

    def _shares(self) -> dict[int, Array]:
        """Each real output's cotangent with every entry's fair share
        (:func:`gradcheck._adapters.fair_share`: one more call of ``fn``, along a random
        step); complex leaves or outputs, or a ``fn`` that raises there, keep the draws."""
        if any(jnp.iscomplexobj(x) for x in [*self.leaves, *self.outs]):
            return {}
        leaves = [np.asarray(x, dtype=np.float64) for x in self.leaves]
        rel = max(eps(x.dtype) for x in self.leaves) ** (1 / 3)
        steps = random_steps(leaves, np.random.default_rng([self.seed, 6]), rel)
        moved = [
            jnp.asarray(a + w.reshape(a.shape), x.dtype)
            for a, w, x in zip(leaves, steps, self.leaves)
        ]
        self.rng.reset()
        try:
            at = self.outputs(moved)
        except Exception:  # the plain draws: the checks will name what fails
            return {}
        shares = {}
        for k in self.floating:
            u = fair_share(
                self.ws[k], np.asarray(self.outs[k]), np.asarray(at[k]), eps(self.outs[k].dtype)
            )
            shares.update({} if u is None else {k: u})
        return shares

    def forward_error(self) -> NoForward | None:
        """Why ``jax.jvp`` does not run on ``fn``, or ``None``: one JVP.

        ``missing`` where ``fn`` has no forward mode (:data:`NO_FORWARD`, or a
        ``NotImplementedError``); any other exception is its forward rule's bug.
        """
        try:
            jax.jvp(
                lambda *xs: self.outputs(xs), self.leaves, [jnp.ones_like(x) for x in self.leaves]
            )
        except Exception as exc:
            text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            missing = isinstance(exc, NotImplementedError) or any(s in str(exc) for s in NO_FORWARD)
            return NoForward(text, missing)
        return None

    def reverse(self) -> None:
        """One VJP of the floating outputs' cotangents (a probe of reverse mode). With
        one floating output it is that output's reverse gradient, the same cotangent
        from the same states: :meth:`run` uses it instead of a second VJP."""
        self.probed = self.vjp([self.ws[k] for k in self.floating])

    def vjp(self, u: list[Array]) -> list[Array]:
        """``uᵀJ`` by ``jax.vjp``, for cotangents ``u`` of the floating outputs."""
        cots = [np.zeros(o.shape, dtype=jax.dtypes.float0) for o in self.outs]
        for k, a in zip(self.floating, u):
            cots[k] = np.asarray(a, dtype=self.outs[k].dtype)
        try:
            grads = self.pullback(cots)
        except NotImplementedError as exc:  # jax transposes fn's custom_jvp rule
            raise GradcheckError(UNTRANSPOSABLE.format(error=f"{exc}".splitlines()[0])) from exc
        return [widen(g) for g in grads]

    def jvp(self, v: list[Array]) -> list[Array]:
        """``J v`` by ``jax.jvp`` for tangents ``v``, at the floating outputs."""
        tangents = [jnp.asarray(a, dtype=x.dtype) for a, x in zip(v, self.leaves)]
        self.rng.reset()
        _, jv = jax.jvp(lambda *xs: self.outputs(xs), self.leaves, tangents)
        return [widen(jv[k]) for k in self.floating]

    def run(self, mode: Mode, k: int, precision: str, options: Options) -> Run:
        """The check of output ``k`` in ``mode`` through the shared precision routes."""
        start = time.perf_counter()
        label = [run_name(mode, k, len(self.floating) > 1, n) for n in self.names]
        w64 = self.ws[k]

        def scalar(xs: list[Any]) -> Any:
            return fold(self.outputs(xs)[k], w64)

        self.rng.reset()
        if mode == "rev":
            if self.probed is not None and len(self.floating) == 1:
                g = self.probed
            else:
                cots = [w64 if j == k else np.zeros(self.outs[j].shape) for j in self.floating]
                g = self.vjp(cots)
        else:
            g = [widen(x) for x in forward_gradient(scalar, self.leaves)]
            self.forward[k] = g
        value = value_of(self.outs[k], w64)
        user = Analytic(value, dict(zip(label, g)), least_precise(self.leaves))
        forward = mode == "fwd"
        report = check_routes(
            scalar,
            label,
            self.leaves,
            user,
            precision,
            options,
            self.rng,
            start,
            forward,
        )
        return Run(mode, k, tuple(label), report)
