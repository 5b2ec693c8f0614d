"""The gradient-checking lesson with gradcheck: run ``python examples/lesson_walkthrough.py``."""

from __future__ import annotations

import gradcheck
from gradcheck import lesson


def main() -> None:
    """Run the lesson's checks, then gradcheck's report of the buggy network."""
    lesson.gradient_check(2, 4, print_msg=True)

    X, Y, parameters = lesson.lesson_problem()
    _, cache = lesson.forward_propagation_n(X, Y, parameters)
    gradients = lesson.backward_propagation_n(X, Y, cache)
    lesson.gradient_check_n(parameters, gradients, X, Y, print_msg=True)

    report = gradcheck.check(
        lambda p: lesson.forward_propagation_n(X, Y, p)[0], parameters, gradients
    )
    print(report)
    for name in report.failed_parameters:
        diagnosis = report.parameters[name].diagnosis
        print(f"{name}: {diagnosis.text if diagnosis else 'wrong'}")


if __name__ == "__main__":
    main()
