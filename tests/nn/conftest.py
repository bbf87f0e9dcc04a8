import numpy as np
import pytest


@pytest.fixture
def rng():
    """A generator of the test's own, so its data do not depend on which tests ran before it."""
    return np.random.default_rng(0)


@pytest.fixture
def rn(rng):
    """``rn(*shape)``: standard-normal float64 arrays from the test's own generator."""
    return lambda *shape: rng.standard_normal(shape)
