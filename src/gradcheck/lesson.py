"""The gradient-checking lesson, function for function, on top of gradcheck's engine.

Every function here has the lesson's name, signature and arithmetic, so the lesson's
numbers come out to the last digit; the two checking functions hand the work to
:func:`gradcheck.check` (there is no second copy of the checking loop).

>>> gradient_check(2, 4)
2.919335883291695e-10
>>> X, Y, parameters = lesson_problem()
>>> cost, cache = forward_propagation_n(X, Y, parameters)
>>> gradient_check_n(parameters, backward_propagation_n(X, Y, cache), X, Y)
0.2850931567761624
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck._engine import check

__all__ = [
    "KEYS",
    "SHAPES",
    "THRESHOLD_1D",
    "THRESHOLD_N",
    "backward_propagation",
    "backward_propagation_n",
    "backward_propagation_n_fixed",
    "dictionary_to_vector",
    "forward_propagation",
    "forward_propagation_n",
    "gradient_check",
    "gradient_check_n",
    "gradients_to_vector",
    "lesson_problem",
    "relu",
    "sigmoid",
    "vector_to_dictionary",
]

Array = np.ndarray[Any, Any]
Cache = tuple[Array, ...]

#: The lesson's parameter order and shapes.
KEYS = ("W1", "b1", "W2", "b2", "W3", "b3")
SHAPES = {"W1": (5, 4), "b1": (5, 1), "W2": (3, 5), "b2": (3, 1), "W3": (1, 3), "b3": (1, 1)}
#: The lesson's thresholds: 1-D check and network check.
THRESHOLD_1D = 1e-7
THRESHOLD_N = 2e-7

_GREEN, _YELLOW, _RESET = "\033[92m", "\033[93m", "\033[0m"


def _message(difference: float, threshold: float) -> str:
    """The lesson's verdict line, in the lesson's colours."""
    if difference > threshold:
        text = "There is a mistake in the backward propagation! difference = "
        return f"{_YELLOW}{text}{difference}{_RESET}"
    text = "Your backward propagation works perfectly fine! difference = "
    return f"{_GREEN}{text}{difference}{_RESET}"


# --- 1-D: J(θ) = θx ------------------------------------------------------------------


def forward_propagation(x: Any, theta: Any) -> Any:
    """The lesson's 1-D "network": J(θ) = θx.

    Args:
        x: the input.
        theta: the parameter θ.

    Returns:
        ``theta * x``.
    """
    return theta * x


def backward_propagation(x: Any, theta: Any) -> Any:
    """The derivative of J(θ) = θx: dJ/dθ = x.

    Args:
        x: the input.
        theta: the parameter θ (unused, as in the lesson).

    Returns:
        ``x``.
    """
    return x


def gradient_check(x: Any, theta: Any, epsilon: float = 1e-7, print_msg: bool = False) -> float:
    """The lesson's 1-D gradient check, run by :func:`gradcheck.check`.

    Integer ``x`` and ``theta`` are converted to float64 first (the engine checks
    floating-point parameters only).

    Args:
        x: the input.
        theta: the parameter θ.
        epsilon: the step, used exactly as given (central differences).
        print_msg: print the lesson's verdict in the lesson's colours (threshold 1e-7).

    Returns:
        ``||grad - gradapprox||₂ / (||grad||₂ + ||gradapprox||₂)``.
    """
    x = np.float64(x)
    grad = backward_propagation(x, theta)
    report = check(
        lambda t: forward_propagation(x, t), np.float64(theta), grad, method="central", eps=epsilon
    )
    difference = report.difference
    if print_msg:
        print(_message(difference, THRESHOLD_1D))
    return difference


# --- The network: LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID ----------------


def relu(x: Array) -> Array:
    """The lesson's ReLU, ``np.maximum(0, x)``."""
    return np.maximum(0, x)


def sigmoid(x: Array) -> Array:
    """The lesson's sigmoid, ``1 / (1 + np.exp(-x))``."""
    return np.asarray(1 / (1 + np.exp(-x)))


def lesson_problem() -> tuple[Array, Array, dict[str, Array]]:
    """The lesson's test data: ``X`` (4, 3), ``Y = [1, 1, 0]`` and the parameters.

    Drawn with NumPy's global generator seeded with 1, as the lesson does: ``X``, then
    W1, b1, W2, b2, W3, b3 with ``np.random.randn``. The global generator's state is
    restored afterwards, so calling this does not change your random stream.

    Returns:
        ``X`` (4, 3), ``Y`` (3,) and the parameters W1 (5, 4), b1 (5, 1), W2 (3, 5),
        b2 (3, 1), W3 (1, 3), b3 (1, 1).
    """
    state = np.random.get_state()
    try:
        np.random.seed(1)
        x = np.random.randn(4, 3)
        y = np.array([1, 1, 0])
        parameters = {k: np.random.randn(*SHAPES[k]) for k in KEYS}
    finally:
        np.random.set_state(state)
    return x, y, parameters


def forward_propagation_n(X: Array, Y: Array, parameters: dict[str, Array]) -> tuple[float, Cache]:
    """LINEAR→RELU→LINEAR→RELU→LINEAR→SIGMOID and the mean cross-entropy cost.

    The arithmetic is the lesson's, operation for operation, so the cost is bit-identical.

    Args:
        X: the inputs, one example per column.
        Y: the labels, 0 or 1.
        parameters: W1, b1, W2, b2, W3, b3.

    Returns:
        ``cost, cache`` with ``cache = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)``.
    """
    m = X.shape[1]
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]
    Z1 = np.dot(W1, X) + b1
    A1 = relu(Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = relu(Z2)
    Z3 = np.dot(W3, A2) + b3
    A3 = sigmoid(Z3)
    logprobs = np.multiply(-np.log(A3), Y) + np.multiply(-np.log(1 - A3), 1 - Y)
    cost = 1.0 / m * np.sum(logprobs)
    cache = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)
    return cost, cache


def _backward(
    X: Array, Y: Array, cache: Cache, dw2_factor: float, db1_numerator: float
) -> dict[str, Array]:
    """Backprop in the lesson's operation order; the factors plant (or not) its mistakes."""
    m = X.shape[1]
    (_Z1, A1, _W1, _b1, _Z2, A2, W2, _b2, _Z3, A3, W3, _b3) = cache
    dZ3 = A3 - Y
    dW3 = 1.0 / m * np.dot(dZ3, A2.T)
    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.multiply(dA2, np.int64(A2 > 0))
    dW2 = 1.0 / m * np.dot(dZ2, A1.T)
    if dw2_factor != 1:
        dW2 = dW2 * dw2_factor
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.multiply(dA1, np.int64(A1 > 0))
    dW1 = 1.0 / m * np.dot(dZ1, X.T)
    db1 = db1_numerator / m * np.sum(dZ1, axis=1, keepdims=True)
    return {
        "dZ3": dZ3,
        "dW3": dW3,
        "db3": db3,
        "dA2": dA2,
        "dZ2": dZ2,
        "dW2": dW2,
        "db2": db2,
        "dA1": dA1,
        "dZ1": dZ1,
        "dW1": dW1,
        "db1": db1,
    }


def backward_propagation_n(X: Array, Y: Array, cache: Cache) -> dict[str, Array]:
    """The lesson's backprop, with its two planted mistakes.

    ``dW2`` is multiplied by 2, and ``db1`` is computed with ``4./m`` instead of ``1./m``.

    Args:
        X: the inputs.
        Y: the labels.
        cache: from :func:`forward_propagation_n`.

    Returns:
        dZ3, dW3, db3, dA2, dZ2, dW2, db2, dA1, dZ1, dW1, db1, as in the lesson.
    """
    return _backward(X, Y, cache, dw2_factor=2, db1_numerator=4.0)


def backward_propagation_n_fixed(X: Array, Y: Array, cache: Cache) -> dict[str, Array]:
    """The lesson's backprop with both mistakes corrected.

    Args:
        X: the inputs.
        Y: the labels.
        cache: from :func:`forward_propagation_n`.

    Returns:
        The same keys as :func:`backward_propagation_n`.
    """
    return _backward(X, Y, cache, dw2_factor=1, db1_numerator=1.0)


def dictionary_to_vector(parameters: dict[str, Array]) -> tuple[Array, list[str]]:
    """Stack the parameters into one (47, 1) vector, in the lesson's key order.

    Args:
        parameters: W1, b1, W2, b2, W3, b3.

    Returns:
        The vector, and the key of each of its entries.
    """
    keys: list[str] = []
    pieces = []
    for key in KEYS:
        new_vector = np.reshape(parameters[key], (-1, 1))
        keys += [key] * new_vector.shape[0]
        pieces.append(new_vector)
    return np.concatenate(pieces, axis=0), keys


def vector_to_dictionary(theta: Array) -> dict[str, Array]:
    """Split a (47, 1) vector back into the lesson's parameter dictionary.

    Args:
        theta: the vector, as from :func:`dictionary_to_vector`.

    Returns:
        W1, b1, W2, b2, W3, b3 in their shapes (views of ``theta``).
    """
    parameters, start = {}, 0
    for key in KEYS:
        size = int(np.prod(SHAPES[key]))
        parameters[key] = theta[start : start + size].reshape(SHAPES[key])
        start += size
    return parameters


def gradients_to_vector(gradients: dict[str, Array]) -> Array:
    """Stack ``dW1, db1, ..., db3`` into one (47, 1) vector.

    Args:
        gradients: backprop's output; keys other than ``dW1`` ... ``db3`` are ignored.

    Returns:
        The vector, in the order of :func:`dictionary_to_vector`.
    """
    return np.concatenate([np.reshape(gradients["d" + k], (-1, 1)) for k in KEYS], axis=0)


def gradient_check_n(
    parameters: dict[str, Array],
    gradients: dict[str, Array],
    X: Array,
    Y: Array,
    epsilon: float = 1e-7,
    print_msg: bool = False,
) -> float:
    """The lesson's network gradient check, run by :func:`gradcheck.check`.

    The engine perturbs each of the 47 entries by ±``epsilon`` in the lesson's order
    (W1, b1, ..., b3, row-major) and computes the lesson's difference over them. The
    caller's arrays are never modified.

    Args:
        parameters: W1, b1, W2, b2, W3, b3.
        gradients: backprop's output (``dW1`` ... ``db3``; other keys are ignored).
        X: the inputs.
        Y: the labels.
        epsilon: the step, used exactly as given (central differences).
        print_msg: print the lesson's verdict in the lesson's colours (threshold 2e-7).

    Returns:
        ``||grad - gradapprox||₂ / (||grad||₂ + ||gradapprox||₂)``.
    """
    grads = {k: gradients["d" + k] for k in KEYS}
    params = {k: parameters[k] for k in KEYS}
    report = check(
        lambda p: forward_propagation_n(X, Y, p)[0], params, grads, method="central", eps=epsilon
    )
    difference = report.difference
    if print_msg:
        print(_message(difference, THRESHOLD_N))
    return difference
