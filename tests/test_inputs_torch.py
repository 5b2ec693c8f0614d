"""``gradcheck._inputs`` with torch: a torch tensor among the parameters.

Split from ``tests/test_inputs.py`` so that the module's mirror file (the first stage of
its mutation run, ``tools/mutate_direct.py``) runs NumPy only, as was done for
``tests/test_user_rng.py``: importing torch makes each forked mutant 14 to 26 s instead
of a few.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck
from gradcheck import GradcheckError


class TestParameters:
    def test_torch_tensor_points_to_the_torch_adapter(self) -> None:
        torch = pytest.importorskip("torch")
        import gradcheck.torch as gt

        with pytest.raises(GradcheckError) as info:
            gradcheck.check(lambda p: 0.0, {"W": torch.ones(2)}, {"W": np.zeros(2)})
        text = str(info.value)
        assert "'W' is a torch tensor" in text
        for fn in ("check_module", "check_function"):
            assert f"gradcheck.torch.{fn}(" in text
            assert callable(getattr(gt, fn))  # the advice names functions that exist
