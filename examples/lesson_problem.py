"""The lesson's 3-layer network as ``gradcheck run`` targets.

    gradcheck run examples/lesson_problem.py:buggy      # exit 1: W2 ×2, b1 ×4
    gradcheck run examples/lesson_problem.py:fixed      # exit 0
    gradcheck sweep examples/lesson_problem.py:buggy --plot sweep.png

Each function returns a problem: here a dict with the cost, the parameters and the
gradient (the lesson's ``dW1``..``db3`` keys; the extra ``dZ1``, ``dA2``, ... entries of
its gradients dict are ignored). The gradient is computed once, as arrays, so each
function also takes ``params=None``: ``gradcheck run ... --params w.npz`` calls it again
with the new parameters, to backpropagate at them.
"""

from __future__ import annotations

from typing import Any

from gradcheck import lesson

__all__ = ["buggy", "fixed"]


def _problem(backward: Any, params: dict[str, Any] | None) -> dict[str, Any]:
    X, Y, parameters = lesson.lesson_problem()
    if params is not None:
        parameters = params
    _, cache = lesson.forward_propagation_n(X, Y, parameters)
    gradients = backward(X, Y, cache)

    def cost(p: dict[str, Any]) -> float:
        return float(lesson.forward_propagation_n(X, Y, p)[0])

    return {"cost": cost, "params": parameters, "grad": gradients}


def buggy(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The lesson's backprop with its two planted mistakes (``dW2`` ×2, ``db1`` ×4)."""
    return _problem(lesson.backward_propagation_n, params)


def fixed(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The corrected backprop."""
    return _problem(lesson.backward_propagation_n_fixed, params)
