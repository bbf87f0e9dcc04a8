import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # tests/opcheck.py: the shared op checker

SHARED = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared"))


@pytest.fixture
def shared_datasets():
    path = os.path.join(SHARED, "datasets")
    if not os.path.isdir(path):
        pytest.skip("../shared/datasets is not present")
    return path
