"""Which entries a check examines: the ``mode`` option and the ``auto`` rule.

A mode is an object that carries the options only it uses, or its name as a string
(``"sample"`` is ``Sample()``: the defaults):

* ``Full()`` / ``"full"``: every entry, two cost evaluations each (central differences).
* ``Sample(size)`` / ``"sample"``: ``size`` entries per parameter (an int), or that
  fraction of each parameter (a float in (0, 1]), drawn without replacement by a
  private generator seeded with ``seed``: the same seed checks the same entries.
* ``Directional(miss_probability, budget, localise)`` / ``"directional"``: random
  projections (see ``gradcheck._directional``); the cost does not grow with the
  parameter count.
* ``Auto()`` / ``"auto"`` (default): ``Full()`` when the parameters have at most
  :data:`AUTO_FULL_MAX` entries in all, ``Directional()`` above.

The older keywords ``sample=``, ``miss_probability=``, ``budget=`` and ``localise=``
still work; one that does not apply to the mode chosen is refused, never ignored.
Under ``auto`` the directional ones are accepted (they apply when ``auto`` resolves
to the directional check, and the report records them either way).

>>> resolve_mode("auto", 10)
Full()
>>> resolve_mode(Directional(budget=60), 10**6)
Directional(miss_probability=0.001, budget=60, localise=True)
>>> sample_indices(10, 3, np.random.default_rng(0))
array([5, 6, 9])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np

from gradcheck._directional import MISS_PROBABILITY
from gradcheck._errors import GradcheckError
from gradcheck._localise import BUDGET

__all__ = [
    "AUTO_FULL_MAX",
    "DEFAULT_SAMPLE",
    "MODES",
    "MODE_TYPES",
    "Auto",
    "Directional",
    "Full",
    "Mode",
    "ModeKeywords",
    "ModeName",
    "RunMode",
    "Sample",
    "mode_object",
    "resolve_mode",
    "sample_indices",
    "sample_size",
    "with_keywords",
]

Array = np.ndarray[Any, Any]
ModeName = Literal["auto", "full", "sample", "directional"]
MODES: tuple[ModeName, ...] = ("auto", "full", "sample", "directional")
#: ``auto`` checks every entry up to this many entries in all. A full check costs
#: ``2N`` evaluations: 8192 evaluations of a small model take a second or two,
#: while the directional check costs 10 whatever ``N``; above this size the full
#: check's cost outgrows its benefit (it is then the user's explicit choice).
AUTO_FULL_MAX = 4096
#: Entries per parameter in ``sample`` mode when no size is given.
DEFAULT_SAMPLE = 100


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return _is_int(value) or isinstance(value, (float, np.floating))


@dataclass(frozen=True)
class Full:
    """Check every entry (``mode="full"``)."""

    name: ClassVar[ModeName] = "full"


@dataclass(frozen=True)
class Auto:
    """``Full()`` up to :data:`AUTO_FULL_MAX` entries in all, ``Directional()`` above."""

    name: ClassVar[ModeName] = "auto"


@dataclass(frozen=True)
class Sample:
    """Check a sample of each parameter's entries (``mode="sample"``).

    Attributes:
        size: entries per parameter (an int, at least 1) or the fraction of each
            parameter (a float in (0, 1]); default :data:`DEFAULT_SAMPLE` entries.

    Raises:
        GradcheckError: ``size`` is not a count or a fraction.
    """

    size: int | float = DEFAULT_SAMPLE
    name: ClassVar[ModeName] = "sample"

    def __post_init__(self) -> None:
        why = sample_error(self.size)
        if why:
            raise GradcheckError(f"option mode=Sample({self.size!r}){why}")
        plain = int(self.size) if _is_int(self.size) else float(self.size)
        object.__setattr__(self, "size", plain)  # the report records it, as JSON


@dataclass(frozen=True)
class Directional:
    """Check random projections of the gradient (``mode="directional"``; docs/scale.md).

    Attributes:
        miss_probability: the ``δ`` of the guarantee: an error of the stated size is
            missed with probability at most ``δ``, in (0, 1).
        budget: at most this many evaluations for localisation (a non-negative int).
        localise: after a failed verdict, find the wrong parameters and entries.

    Raises:
        GradcheckError: naming the attribute that is out of range.
    """

    miss_probability: float = MISS_PROBABILITY
    budget: int = BUDGET
    localise: bool = True
    name: ClassVar[ModeName] = "directional"

    def __post_init__(self) -> None:
        for option in (f.name for f in fields(self)):  # not asdict: it deep-copies
            value = getattr(self, option)
            why = DIRECTIONAL_OPTIONS[option](value)
            if why:
                raise GradcheckError(f"option mode=Directional({option}={value!r}){why}")
        # plain Python numbers: the report records them, and JSON takes no NumPy scalars
        object.__setattr__(self, "miss_probability", float(self.miss_probability))
        object.__setattr__(self, "budget", int(self.budget))
        object.__setattr__(self, "localise", bool(self.localise))


_BY_NAME: dict[str, type[Full | Sample | Directional | Auto]] = {
    "auto": Auto,
    "full": Full,
    "sample": Sample,
    "directional": Directional,
}
#: The mode objects' classes.
MODE_TYPES = (Full, Sample, Directional, Auto)
#: What ``mode=`` takes: a mode object, or its name for the defaults.
Mode = ModeName | Full | Sample | Directional | Auto
#: A mode that runs (``auto`` resolved).
RunMode = Full | Sample | Directional


def sample_error(size: Any) -> str:
    """Why ``size`` is no sample size (an int count or a float fraction), or ``""``."""
    if not _is_real(size):
        return " must be an int count or a float fraction"
    if _is_int(size) and size < 1:
        return " must be at least 1 entry"
    if not _is_int(size) and not 0 < size <= 1:
        return ": a fraction must lie in (0, 1]; pass an int to ask for a number of entries"
    return ""


def _miss_error(value: Any) -> str:
    if _is_real(value) and 0 < value < 1:
        return ""
    return (
        " must lie in (0, 1): the chance that the directional check misses an error of "
        f"the stated size (default {MISS_PROBABILITY})"
    )


def _budget_error(value: Any) -> str:
    if _is_int(value) and value >= 0:
        return ""
    return (
        " must be a non-negative integer: the most cost evaluations a localisation may "
        f"spend (default {BUDGET})"
    )


def _localise_error(value: Any) -> str:
    return "" if isinstance(value, (bool, np.bool_)) else " must be True or False"


#: Each of :class:`Directional`'s options and why a value is refused (``""``: valid).
DIRECTIONAL_OPTIONS: dict[str, Callable[[Any], str]] = {
    "miss_probability": _miss_error,
    "budget": _budget_error,
    "localise": _localise_error,
}


class ModeKeywords(NamedTuple):
    """The older mode-only keywords as given to ``check`` (None: not given)."""

    sample: Any = None
    miss_probability: Any = None
    budget: Any = None
    localise: Any = None

    def given(self) -> dict[str, Any]:
        """The keywords given, by name."""
        return {k: v for k, v in self._asdict().items() if v is not None}


def mode_object(mode: Any) -> Full | Sample | Directional | Auto:
    """The mode object for ``mode`` (a name means the defaults).

    Raises:
        GradcheckError: ``mode`` is neither a mode object nor a mode's name.
    """
    if isinstance(mode, MODE_TYPES):
        return mode
    if isinstance(mode, str) and mode in MODES:
        return _BY_NAME[mode]()
    raise GradcheckError(
        f"unknown mode {mode!r}: choose one of {', '.join(map(repr, MODES))}, or a mode "
        "object: Full(), Sample(100), Directional(miss_probability=1e-3), Auto()"
    )


def _refusal(option: str, value: Any, mode: RunMode, auto: bool) -> str:
    """Why the older keyword ``option`` does not apply to ``mode``, or ``""``.

    Under ``auto`` the directional options apply when ``auto`` resolves to the
    directional check, so they are accepted whatever it resolves to; ``sample`` never
    applies there (``auto`` never samples).
    """
    if option == "sample" and not isinstance(mode, Sample):
        runs = "mode='auto', which never samples" if auto else f"mode={mode.name!r}"
        return (
            f"option sample={value!r} applies only to mode='sample', and this check runs "
            f"{runs}: pass mode='sample' (--mode sample) to check a sample of entries, or "
            "drop sample"
        )
    if option != "sample" and not (auto or isinstance(mode, Directional)):
        return (
            f"option {option}={value!r} applies only to mode='directional', and this "
            f"check runs mode={mode.name!r}: pass mode=Directional({option}={value!r}) "
            f"to run the directional check, or drop {option}"
        )
    return ""


def _with_keywords(mode: RunMode, given: dict[str, Any], explicit: bool, auto: bool) -> RunMode:
    """``mode`` with the older keywords ``given`` applied; each must apply to it (or
    may apply, under ``auto``), and ``explicit`` (a mode object was passed) must not be
    combined with them."""
    for option, value in given.items():
        why = _refusal(option, value, mode, auto)
        if why:
            raise GradcheckError(why)
        if explicit:
            key = "size" if option == "sample" else option
            raise GradcheckError(
                f"option {option}={value!r} goes into the mode object when one is given: "
                f"pass mode={replace(mode, **{key: value})!r} and drop {option}"
            )
    if isinstance(mode, Sample) and "sample" in given:
        return Sample(given["sample"])
    if isinstance(mode, Directional):
        return replace(mode, **{k: v for k, v in given.items() if k != "sample"})
    return mode


def with_keywords(mode: Any, auto: RunMode, keywords: ModeKeywords | None = None) -> RunMode:
    """The mode that runs for ``mode`` when ``auto`` resolves to ``auto``, with the older
    ``keywords`` applied.

    Under ``auto`` the directional keywords are accepted whatever it resolves to: they
    apply when it resolves to ``Directional()`` (the report records them either way).

    Raises:
        GradcheckError: ``mode`` is unknown, or a keyword does not apply to the mode
            chosen, or is given both as a keyword and in a mode object.
    """
    named = mode_object(mode)
    is_auto = isinstance(named, Auto)
    run = auto if isinstance(named, Auto) else named
    explicit = not isinstance(mode, str) and not is_auto
    return _with_keywords(run, keywords.given() if keywords else {}, explicit, is_auto)


def resolve_mode(mode: Any, total: int, keywords: ModeKeywords | None = None) -> RunMode:
    """The mode that runs for ``mode`` on ``total`` entries: ``auto`` is ``Full()`` up
    to :data:`AUTO_FULL_MAX` entries, ``Directional()`` above (see :func:`with_keywords`).
    """
    auto: RunMode = Full() if total <= AUTO_FULL_MAX else Directional()
    return with_keywords(mode, auto, keywords)


def sample_size(size: int, sample: float | int) -> int:
    """How many of a parameter's ``size`` entries ``sample`` (a valid size) asks for."""
    if _is_int(sample):
        return min(size, int(sample))
    return max(1, min(size, int(np.ceil(sample * size))))


def sample_indices(size: int, k: int, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    """``k`` distinct flat indices out of ``size``, sorted, drawn with ``rng``."""
    if k >= size:
        return np.arange(size)
    return np.sort(rng.choice(size, size=k, replace=False))
