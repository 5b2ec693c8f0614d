"""Keep what ``docs/testing.md`` already says about modules ``mutants/`` has no results for.

``mutants/`` is not committed: on a fresh clone (or a new machine) it holds only the
modules run there, and rewriting ``docs/testing.md`` from it alone would turn every
module scored earlier into "not run", and the hand mutations' table into "not run" too.
:func:`earlier` reads the page as it is; ``tools/mutate.py`` then writes, for a
module without results in ``mutants/``, its earlier row (its target cell marked
:data:`MARK`), its earlier timing line and its earlier survivors' section, and for a hand
mutation without a result, its earlier row. A module run again replaces them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

#: Added to the target cell of a row kept from the page: its results are not in mutants/.
MARK = " (earlier run)"

_ROW = re.compile(r"^\| `(?P<module>[^`]+)` \|")
_HAND_ROW = re.compile(r"^\| (?P<n>\d+) \| `")
_TIMING = re.compile(r"^- `(?P<module>[^`]+)`: measured ")
_SECTION = re.compile(r"^## `(?P<module>[^`]+)`$")


class Earlier(NamedTuple):
    """What the page said, by module (and by hand mutation number)."""

    rows: dict[str, str]
    timing: dict[str, str]
    sections: dict[str, list[str]]
    hand_rows: dict[int, str]


def earlier(doc: Path) -> Earlier:
    """The scored rows, timing lines, survivors' sections and hand-mutation rows of
    ``doc`` (empty when it does not exist); a row that says "not run" is left out."""
    found = Earlier({}, {}, {}, {})
    if not doc.exists():
        return found
    section: list[str] | None = None
    for line in doc.read_text().splitlines():
        if line.startswith("## "):
            heading = _SECTION.match(line)
            section = [] if heading else None
            if heading:
                found.sections[heading["module"]] = section
            continue
        if section is not None:
            section.append(line)
            continue
        row, hand, timing = _ROW.match(line), _HAND_ROW.match(line), _TIMING.match(line)
        if row and "not run" not in line:
            cells = line.rstrip(" |").split(" | ")
            if not cells[-1].endswith(MARK):
                cells[-1] += MARK
            found.rows[row["module"]] = " | ".join(cells) + " |"
        elif hand and "| not run |" not in line:
            found.hand_rows[int(hand["n"])] = line
        elif timing:
            found.timing[timing["module"]] = line
    for lines in found.sections.values():
        while lines and not lines[-1].strip():
            lines.pop()
    return found
