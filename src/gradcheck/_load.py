"""Command-line targets: find the function, call it, and understand the problem it returns.

A target is ``path/to/file.py:function`` or ``package.module:function`` (the function
may be a dotted attribute path, ``module:Class.method``). The function is called with no
arguments (with ``params=`` to recompute a gradient for ``--params``, see
:func:`load_problem`) and returns a *problem*, one of:

* a tuple ``(cost, params, grad)``: the arguments of :func:`gradcheck.check`;
* a dict with keys ``"cost"``, ``"params"``, ``"grad"`` and optionally ``"options"``
  (a dict of :func:`gradcheck.check` options; command-line options override them);
* a torch problem ``{"model": module, "loss": loss_fn}`` (+ ``"options"``), checked by
  ``gradcheck.torch.check_module(model, loss_fn, **options)``;
* a JAX problem ``{"jax": f, "params": pytree}`` (+ ``"options"``), checked by
  ``gradcheck.jax.check(f, params, **options)``.

>>> problem = as_problem((lambda p: float(p @ p), np.ones(2), lambda p: 2 * p), "t")
>>> problem.kind, problem.run({}).status
('numpy', 'passed')
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gradcheck._errors import GradcheckError
from gradcheck._options import Options
from gradcheck._pytree import flatten, unflatten
from gradcheck._report import Report

__all__ = [
    "Problem",
    "as_problem",
    "import_target_module",
    "load_problem",
    "load_target",
    "override_params",
]

_SHAPES = (
    "return (cost, params, grad), a dict with keys 'cost', 'params', 'grad' (and optional "
    "'options'), {'model': torch_module, 'loss': loss_fn} or {'jax': f, 'params': pytree}"
)


@dataclass(frozen=True)
class Problem:
    """A checkable problem, as a target function returned it.

    Attributes:
        kind: ``"numpy"``, ``"torch"`` or ``"jax"``.
        cost, params, grad: for ``numpy`` (``params`` also for ``jax``).
        model, loss: for ``torch``.
        function: for ``jax``.
        options: options the problem itself asks for.
    """

    kind: str
    cost: Callable[[Any], Any] | None = None
    params: Any = None
    grad: Any = None
    model: Any = None
    loss: Any = None
    function: Any = None
    options: dict[str, Any] = field(default_factory=dict)

    def run(self, options: Mapping[str, Any]) -> Report:
        """Check the problem; ``options`` override the problem's own."""
        opts = {**self.options, **options}
        if self.kind == "torch":
            check_module = _adapter("torch", "check_module")
            _known(check_module, opts, "gradcheck.torch.check_module (a torch problem)")
            report: Report = check_module(self.model, self.loss, **opts)
            return report
        if self.kind == "jax":
            check_jax = _adapter("jax", "check")
            _known(check_jax, opts, "gradcheck.jax.check (a JAX problem)")
            report = check_jax(self.function, self.params, **opts)
            return report
        from gradcheck._engine import check

        _known(check, opts, "gradcheck.check (a NumPy problem)")
        return check(self.cost, self.params, self.grad, **opts)  # type: ignore[arg-type]


def _known(function: Callable[..., Any], options: Mapping[str, Any], what: str) -> None:
    """Raise, naming it, for an option ``function`` does not take: Python's own
    TypeError came out of the command line as an internal error (exit 4, "a bug in
    gradcheck"), for a target's misspelt or misplaced option (attack36 H166)."""
    params = inspect.signature(function).parameters.values()
    names = {p.name for p in params if p.kind is not inspect.Parameter.POSITIONAL_ONLY}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        # the adapters' **options are the core's (gradcheck._options.Options)
        names.discard(next(p.name for p in params if p.kind is inspect.Parameter.VAR_KEYWORD))
        names |= Options.__required_keys__ | Options.__optional_keys__
    unknown = sorted(set(options) - names)
    if unknown:
        takes = ", ".join(sorted(n for n in names if n not in ("cost", "params", "grad")))
        hint = (
            " (order=2 is for torch and JAX problems; a NumPy problem's second derivative "
            "is checked by gradcheck.check_hessian)"
            if unknown[0] == "order"
            else ""
        )
        raise GradcheckError(
            f"option {unknown[0]!r} is not an option of {what}; it takes: {takes}{hint}"
        )


def _adapter(framework: str, function: str) -> Any:
    """``gradcheck.<framework>.<function>``, or a clear error when it cannot be imported."""
    try:
        return getattr(importlib.import_module(f"gradcheck.{framework}"), function)
    except (ImportError, AttributeError) as exc:
        raise GradcheckError(
            f"this is a {framework} problem, but gradcheck.{framework}.{function} is not "
            f"available ({exc}); pip install 'gradcheck[{framework}]'"
        ) from exc


def _options(value: object, target: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise GradcheckError(f"{target}: 'options' must be a dict, not {type(value).__name__}")
    return dict(value)


def as_problem(value: object, target: str) -> Problem:
    """Turn what a target function returned into a :class:`Problem`.

    Raises:
        GradcheckError: the value has none of the accepted shapes (named in the message).
    """
    if isinstance(value, tuple) and len(value) == 3:
        cost, params, grad = value
        if not callable(cost):
            raise GradcheckError(f"{target}: the tuple's first item (the cost) is not callable")
        return Problem("numpy", cost=cost, params=params, grad=grad)
    if isinstance(value, Mapping):
        keys = set(value)
        opts = _options(value.get("options"), target)
        if {"model", "loss"} <= keys:
            return Problem("torch", model=value["model"], loss=value["loss"], options=opts)
        if {"jax", "params"} <= keys:
            return Problem("jax", function=value["jax"], params=value["params"], options=opts)
        if {"cost", "params", "grad"} <= keys:
            if not callable(value["cost"]):
                raise GradcheckError(f"{target}: 'cost' is not callable")
            return Problem(
                "numpy",
                cost=value["cost"],
                params=value["params"],
                grad=value["grad"],
                options=opts,
            )
        raise GradcheckError(
            f"{target} returned a dict with keys {sorted(keys)}; it must {_SHAPES}"
        )
    raise GradcheckError(f"{target} returned a {type(value).__name__}; it must {_SHAPES}")


def _import_file(path: Path) -> Any:
    name = _file_module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise GradcheckError(f"cannot import {str(path)!r} as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # so the file can import its neighbours
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        sys.path.remove(folder)
    return module


def _file_module_name(path: Path) -> str:
    """The name a file target is imported under (the same in every process)."""
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    return f"_gradcheck_target_{digest}"


def import_target_module(target: str) -> None:
    """Import a file target's module under its name, unless this process has it.

    The initializer of ``gradcheck run --processes`` workers: a cost defined at the top
    level of a target file pickles by reference to that module, which a worker started
    by ``spawn`` or ``forkserver`` has to import before it can unpickle the cost.
    """
    where = target.rpartition(":")[0]
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
        if _file_module_name(path) not in sys.modules:
            _import_file(path)


def _exited(exc: SystemExit, during: str) -> GradcheckError:
    """The error for user code that called ``sys.exit()`` (or ran argparse) ``during``."""
    return GradcheckError(
        f"the target exited {during} (SystemExit({exc.code!r}): sys.exit() or argparse "
        "reading gradcheck's own command line?); keep a script's command-line code under "
        '`if __name__ == "__main__":`'
    )


def load_target(target: str) -> Callable[[], Any]:
    """The function ``target`` names (``file.py:function`` or ``module:function``).

    Raises:
        GradcheckError: a malformed target, a missing file or module, an import that
            fails, or a missing function; the message says which.
    """
    where, sep, attr = target.rpartition(":")
    if not sep or not where or not attr:
        raise GradcheckError(
            f"target {target!r} must be path/to/file.py:function or package.module:function"
        )
    is_file = where.endswith(".py") or "/" in where or "\\" in where
    try:
        if is_file:
            path = Path(where)
            if not path.is_file():
                raise GradcheckError(f"target file {where!r} does not exist")
            module = _import_file(path)
        else:
            module = importlib.import_module(where)
    except GradcheckError:
        raise
    except SystemExit as exc:
        raise _exited(exc, f"during import of {where!r}") from exc
    except ModuleNotFoundError as exc:
        raise GradcheckError(f"cannot import {where!r}: {exc}") from exc
    except Exception as exc:
        raise GradcheckError(f"importing {where!r} raised {type(exc).__name__}: {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise GradcheckError(f"{where!r} has no function {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise GradcheckError(f"{target!r} is a {type(obj).__name__}, not a function")
    return obj  # type: ignore[no-any-return]


def load_problem(target: str, params: Mapping[str, np.ndarray[Any, Any]] | None = None) -> Problem:
    """Load ``target``, call it, and return its :class:`Problem`.

    Args:
        target: ``file.py:function`` or ``module:function``.
        params: arrays that replace parameters by name (``gradcheck run --params``).
            A gradient given as arrays was computed at the target's own parameters,
            so it would be stale at these: it is recomputed by calling the target
            again as ``function(params=new_params)`` when the function takes a
            ``params`` argument; a gradient given as a function is simply called at
            them; otherwise the override is refused.

    Raises:
        GradcheckError: loading fails, the function raises, exits or returns no
            problem, or ``params`` cannot be applied (see :func:`override_params`)
            or would leave a precomputed gradient stale.
    """
    function = load_target(target)
    problem = _call(function, target)
    if params is None:
        return problem
    new = override_params(problem, params)
    if problem.kind != "numpy" or callable(problem.grad) or not _changed(problem, new):
        return new
    if not _takes_params(function):
        raise GradcheckError(
            f"--params: {target} returns its gradient as arrays, computed at its own "
            f"parameters; at the new values of {', '.join(_changed(problem, new))} it would "
            "be stale and a correct gradient would fail. Return the gradient as a function "
            "grad(params), or give the function a `params=None` argument and compute the "
            "gradient at the parameters it is given (see docs/cli.md)"
        )
    again = _call(function, target, new.params)
    ignored = _changed(new, again)
    if ignored:
        raise GradcheckError(
            f"--params: {target}(params=...) returned other values of {', '.join(ignored)} "
            "than it was given, so its gradient is not at the new parameters; use the "
            "`params` argument in place of the function's own parameters"
        )
    return again


def _call(function: Callable[..., Any], target: str, params: Any = None) -> Problem:
    """``function()``, or ``function(params=params)``, as a :class:`Problem`."""
    kwargs = {} if params is None else {"params": params}
    try:
        value = function(**kwargs)
    except SystemExit as exc:
        raise _exited(exc, f"while {target} was called") from exc
    except Exception as exc:
        raise GradcheckError(f"{target} raised {type(exc).__name__}: {exc}") from exc
    return as_problem(value, target)


def _takes_params(function: Callable[..., Any]) -> bool:
    """Whether ``function`` can be called as ``function(params=...)``."""
    try:
        parameter = inspect.signature(function).parameters.get("params")
    except (TypeError, ValueError):  # no signature (a builtin)
        return False
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return parameter is not None and parameter.kind in keyword


def _changed(old: Problem, new: Problem) -> list[str]:
    """The names of the parameters whose values differ between ``old`` and ``new``."""
    names, before, _ = flatten(old.params)
    new_names, after, _ = flatten(new.params)
    if names != new_names:
        return sorted(set(names) ^ set(new_names)) or names
    return [n for n, a, b in zip(names, before, after) if not np.array_equal(a, b)]


def override_params(problem: Problem, arrays: Mapping[str, np.ndarray[Any, Any]]) -> Problem:
    """The problem with parameters replaced by name (``W1``, ``layers.0.W``) from ``arrays``.

    Raises:
        GradcheckError: a torch problem, an unknown name, or a shape that differs.
    """
    if problem.kind == "torch":
        raise GradcheckError(
            "--params replaces NumPy or JAX parameters; for a torch problem load the "
            "weights in the target function (model.load_state_dict)"
        )
    names, leaves, treedef = flatten(problem.params)
    unknown = sorted(set(arrays) - set(names))
    if unknown:
        raise GradcheckError(
            f"--params names {', '.join(unknown)}, which the problem does not have "
            f"(its parameters: {', '.join(names)})"
        )
    new = []
    for name, leaf in zip(names, leaves):
        if name in arrays:
            if np.shape(arrays[name]) != np.shape(leaf):
                raise GradcheckError(
                    f"--params {name!r} has shape {np.shape(arrays[name])}, the problem's "
                    f"has {np.shape(leaf)}"
                )
            new.append(np.asarray(arrays[name], dtype=np.asarray(leaf).dtype))
        else:
            new.append(leaf)
    return Problem(**{**problem.__dict__, "params": unflatten(treedef, new)})
