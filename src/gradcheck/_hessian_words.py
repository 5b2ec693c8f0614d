"""``check_hessian``'s words: the Jacobian check's texts said in the Hessian's terms.

``check_hessian`` is ``check_jacobian`` of ``grad`` (``gradcheck._hessian``), so its
report and errors are the Jacobian check's, renamed: ``jacobian`` is ``hessian``,
``jvp`` is ``hvp``, ``fn`` is ``grad`` (:data:`WORDS`, :data:`PHRASES`), while the
user's own texts (parameter names, their exceptions' messages) stay as they are
(:class:`Words`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, NamedTuple

from gradcheck._build import ParameterOutcome
from gradcheck._errors import GradcheckError
from gradcheck._pytree import flatten

__all__ = [
    "FORM_NAMES",
    "PHRASES",
    "WORDS",
    "Words",
    "in_hessian_words",
    "renamed",
    "renamed_label",
    "words_of",
]

#: The user's names of ``check_jacobian``'s forms.
FORM_NAMES = {"jacobian": "hessian", "jvp": "hvp"}
#: ``check_jacobian``'s words for what ``check_hessian`` calls otherwise: its forms,
#: and ``fn``, which is ``grad`` here.
WORDS = {**FORM_NAMES, "fn": "grad"}
#: Phrases of ``check_jacobian`` with no word-for-word counterpart here: a Hessian is
#: symmetric, so ``check_hessian`` takes no ``vjp=``; its ``J v`` is ``H v``, compared
#: with differences of ``grad``.
PHRASES = {
    "give vjp= or jacobian= for that": "give hessian= for that",
    "J v against f's differences": "H v against grad's differences",
    "whose bound a vjp or jacobian form gets": "whose bound a hessian form gets",
}


class Words(NamedTuple):
    """What the Jacobian check's texts are renamed in, and what must stay as it is.

    Attributes:
        prefixed: whether the rows carry a form's prefix (``"jvp: "``): both forms given.
        protected: the user's own texts, never renamed: the parameters' names and the
            messages of the user's exceptions.
    """

    prefixed: bool
    protected: tuple[str, ...]


def words_of(params: Any, hvp: Any, hessian: Any, exc: BaseException | None = None) -> Words:
    """The renaming of one call: its names and, for an error, the user's exception texts."""
    names = flatten(params)[0]
    texts = []
    while exc is not None:
        if not isinstance(exc, GradcheckError):
            texts.append(str(exc))
        exc = exc.__cause__
    return Words(hvp is not None and hessian is not None, (*names, *texts))


def in_hessian_words(text: str, words: Words) -> str:
    """A free text of the Jacobian check in the words of the user's call (:data:`WORDS`):
    ``jacobian`` is ``hessian``, ``jvp`` is ``hvp`` (also in advice such as
    ``jacobian=``), ``fn`` is ``grad``.

    The user's own texts (``words.protected``: parameter names, exception messages) are
    set aside first and put back unchanged: a parameter named ``"fn"`` stays ``"fn"``.
    A library word inside text equal to a user's name stays unrenamed too (a name
    ``"fn"`` keeps the library's ``fn`` beside it as ``fn``): the wording is the
    Jacobian check's, never a changed name.
    """
    kept: list[str] = []

    def hold(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    for item in sorted(set(words.protected), key=len, reverse=True):
        if item:
            text = re.sub(rf"(?<!\w){re.escape(item)}(?!\w)", hold, text)
    for phrase, said in PHRASES.items():
        text = text.replace(phrase, said)
    for form, name in WORDS.items():
        text = re.sub(rf"\b{form}\b", name, text)
    return re.sub("\x00([0-9]+)\x00", lambda m: kept[int(m.group(1))], text)


def renamed_label(label: str, words: Words) -> str:
    """A row's name or an entry's label: the form's prefix (``"jvp: "``) and a
    consistency row's forms are renamed, the user's names after them never."""
    if label.startswith("consistency: "):
        head, _, rest = label.partition(" vs ")
        tail, sep, more = rest.partition(" ")
        form = head.removeprefix("consistency: ")
        return f"consistency: {WORDS.get(form, form)} vs {WORDS.get(tail, tail)}{sep}{more}"
    form, sep, rest = label.partition(": ")
    if words.prefixed and sep and form in FORM_NAMES:
        return f"{FORM_NAMES[form]}: {rest}"
    return label


def renamed(row: ParameterOutcome, words: Words) -> ParameterOutcome:
    """A Jacobian check's result in the Hessian's words (:func:`in_hessian_words`)."""
    worst = tuple(replace(e, parameter=renamed_label(e.parameter, words)) for e in row.worst)
    diagnosis = row.diagnosis
    if diagnosis is not None:
        diagnosis = replace(diagnosis, text=in_hessian_words(diagnosis.text, words))
    return row._replace(name=renamed_label(row.name, words), worst=worst, diagnosis=diagnosis)
