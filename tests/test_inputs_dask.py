"""``gradcheck._inputs`` with Dask: a closed client refused as the executor.

Split from ``tests/test_inputs.py`` so that the module's mirror file (the first stage of
its mutation run, ``tools/mutate_direct.py``) starts no Dask cluster in every forked
mutant.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck
from gradcheck import GradcheckError

X6 = np.array([0.3, -0.7, 1.1, 0.2, -0.5, 0.9])


class TestOptions:
    def test_closed_dask_client(self) -> None:
        distributed = pytest.importorskip("distributed")
        with distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster:
            client = distributed.Client(cluster)
            client.close()
            with pytest.raises(GradcheckError, match=r"option executor: the Dask client .* closed"):
                gradcheck.check(lambda p: float(p @ p), X6, 2 * X6, executor=client)
