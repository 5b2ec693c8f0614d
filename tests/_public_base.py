"""The records of the public cases (``tests/public_cases.py``) and their runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from gradcheck import GradcheckError, Report

__all__ = ["Case", "Outcome", "Run", "Source", "Variant", "guarded"]

Expect = Literal["passed", "failed", "error"]


@dataclass(frozen=True)
class Source:
    """Where a case comes from.

    Attributes:
        repo: ``owner/name`` on GitHub.
        path: the file in that repository.
        commit: the commit the transcription was read at.
        licence: the repository's licence, or what is known of it.
        transcribed: what was taken from it (and any change made).
    """

    repo: str
    path: str
    commit: str
    licence: str
    transcribed: str

    @property
    def url(self) -> str:
        """A permanent link to the file at that commit."""
        return f"https://github.com/{self.repo}/blob/{self.commit}/{self.path}"


class Run(NamedTuple):
    """What one variant's runner returns: our report and the peers' verdicts.

    ``torch`` / ``jax`` are ``True`` (peer passes), ``False`` (peer fails) or ``None``
    (that peer does not apply). ``report`` is ``None`` when gradcheck raised
    :class:`~gradcheck.GradcheckError` (its message is in ``error``).
    """

    report: Report | None
    torch: bool | None
    jax: bool | None
    error: str = ""


@dataclass(frozen=True)
class Variant:
    """One checked gradient of a case: the published code or a planted bug.

    Attributes:
        name: ``"published"`` or ``"bug: <what>"``.
        expect: the right verdict (see the module doc).
        run: runs gradcheck and the peers on it.
        wrong: for ``failed``: the parameters that must be named failed (exactly).
        entries: for ``failed``: ``(parameter, index)`` entries that must be among
            the reported wrong entries (empty: not pinned down, e.g. every entry).
        note: why the expectation is what it is, when it is not obvious.
    """

    name: str
    expect: Expect
    run: Callable[[], Run]
    wrong: tuple[str, ...] = ()
    entries: tuple[tuple[str, tuple[int, ...]], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Case:
    """A public case: its name, framework, source and variants."""

    name: str
    framework: Literal["numpy", "torch", "jax"]
    source: Source
    variants: tuple[Variant, ...]


class Outcome(NamedTuple):
    """A variant after running: the case, the variant and the run."""

    case: Case
    variant: Variant
    run: Run

    @property
    def ours(self) -> str:
        """gradcheck's verdict: ``passed``, ``failed``, ``inconclusive`` or ``error``."""
        return "error" if self.run.report is None else self.run.report.status


def guarded(check: Callable[[], Report]) -> tuple[Report | None, str]:
    """Run ``check``; a :class:`~gradcheck.GradcheckError` becomes its message."""
    try:
        return check(), ""
    except GradcheckError as exc:
        return None, str(exc)
