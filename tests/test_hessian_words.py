"""``gradcheck._hessian_words``: the Jacobian check's texts in the Hessian's words, the
user's own names and messages untouched."""

from __future__ import annotations

import math

import pytest

from gradcheck import _hessian_words as hw
from gradcheck._build import ParameterOutcome
from gradcheck._errors import GradcheckError
from gradcheck._results import Diagnosis, Entry

PLAIN = hw.Words(prefixed=False, protected=())


class TestInHessianWords:
    def test_each_word_is_renamed(self) -> None:
        text = "the jacobian and jvp disagree; fn moved; give jacobian= or jvp="
        assert hw.in_hessian_words(text, PLAIN) == (
            "the hessian and hvp disagree; grad moved; give hessian= or hvp="
        )

    def test_words_inside_other_words_stay(self) -> None:
        assert hw.in_hessian_words("jvps and fns and jacobians", PLAIN) == (
            "jvps and fns and jacobians"
        )

    @pytest.mark.parametrize(("phrase", "said"), list(hw.PHRASES.items()))
    def test_each_phrase_is_said_in_the_hessians_terms(self, phrase: str, said: str) -> None:
        assert hw.in_hessian_words(f"[{phrase}]", PLAIN) == f"[{said}]"

    def test_the_users_names_and_messages_stay_as_they_are(self) -> None:
        words = hw.Words(prefixed=False, protected=("fn", "my jvp broke"))
        text = "parameter fn: jvp raised ValueError: my jvp broke"
        assert hw.in_hessian_words(text, words) == (
            "parameter fn: hvp raised ValueError: my jvp broke"
        )

    def test_a_longer_protected_text_is_set_aside_before_a_shorter_one(self) -> None:
        words = hw.Words(prefixed=False, protected=("jvp", "jvp of fn"))
        assert hw.in_hessian_words("jvp of fn, then jacobian", words) == ("jvp of fn, then hessian")

    def test_an_empty_protected_text_protects_nothing(self) -> None:
        words = hw.Words(prefixed=False, protected=("",))
        assert hw.in_hessian_words("fn", words) == "grad"


class TestRenamedLabel:
    def test_a_consistency_rows_forms_are_renamed(self) -> None:
        label = "consistency: jvp vs jacobian (2 pairs)"
        assert hw.renamed_label(label, PLAIN) == "consistency: hvp vs hessian (2 pairs)"

    def test_an_unknown_form_in_a_consistency_row_stays(self) -> None:
        assert hw.renamed_label("consistency: vjp vs fd", PLAIN) == "consistency: vjp vs fd"

    def test_a_forms_prefix_is_renamed_only_where_rows_carry_one(self) -> None:
        prefixed = hw.Words(prefixed=True, protected=())
        assert hw.renamed_label("jvp: x", prefixed) == "hvp: x"
        assert hw.renamed_label("jacobian: x", prefixed) == "hessian: x"
        assert hw.renamed_label("jvp: x", PLAIN) == "jvp: x"
        assert hw.renamed_label("vjp: x", prefixed) == "vjp: x"  # not a form of FORM_NAMES

    def test_the_users_name_after_the_prefix_stays(self) -> None:
        prefixed = hw.Words(prefixed=True, protected=())
        assert hw.renamed_label("jvp: fn / jvp", prefixed) == "hvp: fn / jvp"


class TestWordsOf:
    def test_both_forms_given_prefix_the_rows(self) -> None:
        assert hw.words_of({"x": 1.0}, object(), object()).prefixed is True
        assert hw.words_of({"x": 1.0}, object(), None).prefixed is False
        assert hw.words_of({"x": 1.0}, None, object()).prefixed is False

    def test_the_names_and_the_users_exception_texts_are_protected(self) -> None:
        try:
            try:
                raise ValueError("jvp of fn failed")
            except ValueError as inner:
                raise GradcheckError("fn raised ValueError") from inner
        except GradcheckError as exc:
            words = hw.words_of({"fn": 1.0, "b": 2.0}, None, None, exc)
        # the library's own error text is renamed; the user's exception text is kept
        assert words.protected == ("fn", "b", "jvp of fn failed")


class TestRenamed:
    def test_name_worst_entries_and_diagnosis_are_renamed(self) -> None:
        entry = Entry("jvp: x", (0,), 1.0, 2.0, 1.0, 0.5, 0.1, 0.0, "wrong")
        row = ParameterOutcome(
            "jvp: x",
            (2,),
            "float64",
            "failed",
            0.3,
            checked=2,
            worst=(entry,),
            diagnosis=Diagnosis("factor", 2.0, "the jvp is 2x the differences of fn"),
        )
        out = hw.renamed(row, hw.Words(prefixed=True, protected=("x",)))
        assert out.name == "hvp: x"
        assert out.worst[0].parameter == "hvp: x"
        assert out.diagnosis is not None
        assert out.diagnosis.text == "the hvp is 2x the differences of grad"
        assert out.diagnosis.kind == "factor" and out.status == "failed"

    def test_a_row_without_a_diagnosis_keeps_none(self) -> None:
        row = ParameterOutcome("x", (), "float64", "passed", math.nan, checked=1)
        out = hw.renamed(row, PLAIN)
        assert out.diagnosis is None and out.name == "x"
