"""The gradient-checking lesson with gradcheck: run ``python examples/lesson_walkthrough.py``.

The lesson's own functions (``gradcheck.lesson``) give the lesson's numbers; then
``gradcheck.check`` on the same network says which gradients are wrong and how.
"""

from __future__ import annotations

from typing import Any

import gradcheck
from gradcheck import lesson


def main() -> None:
    """Run the lesson's checks, gradcheck's report of the buggy network, then the fix."""
    # The 1-D check, J(θ) = θx: prints "... works perfectly fine! difference = 2.9e-10".
    lesson.gradient_check(2, 4, print_msg=True)

    # The network with the lesson's two planted backprop mistakes.
    X, Y, parameters = lesson.lesson_problem()
    _, cache = lesson.forward_propagation_n(X, Y, parameters)
    gradients = lesson.backward_propagation_n(X, Y, cache)
    lesson.gradient_check_n(parameters, gradients, X, Y, print_msg=True)  # "There is a mistake"

    # The same check by gradcheck, with its automatic per-entry step.
    def cost(p: dict[str, Any]) -> float:
        return lesson.forward_propagation_n(X, Y, p)[0]

    report = gradcheck.check(cost, parameters, gradients)
    print(report)
    for name in report.failed_parameters:
        diagnosis = report.parameters[name].diagnosis
        print(f"{name}: {diagnosis.text if diagnosis else 'wrong'}")

    # The corrected backprop passes both.
    fixed = lesson.backward_propagation_n_fixed(X, Y, cache)
    lesson.gradient_check_n(parameters, fixed, X, Y, print_msg=True)
    print("gradcheck:", gradcheck.check(cost, parameters, fixed).status)


if __name__ == "__main__":
    main()
