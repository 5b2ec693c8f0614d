"""The records a report is made of (``gradcheck._results``)."""

from __future__ import annotations

from gradcheck._results import entry_label


class TestEntryLabel:
    def test_labels(self) -> None:
        assert entry_label("W1", (2, 3)) == "W1[2, 3]"
        assert entry_label("b", (0,)) == "b[0]"
        assert entry_label("s", ()) == "s"
