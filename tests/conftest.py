"""Every test starts from the same global NumPy random state.

Estimators built with ``random_state=None`` draw from NumPy's global generator, so
without this a test's starting weights would depend on which tests ran before it
(and a tolerance could hold on one machine's test order and not another's).
"""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _seed_global_numpy_random_state():
    np.random.seed(0)
