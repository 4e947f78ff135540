"""Shared fixtures: the reference scenario, a tiny scenario, a seeded generator; NumPy errors raise."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import benefitshare as bs

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
DATA = Path(__file__).resolve().parent / "data"

# Scenarios that tests write in temporary folders inherit from the shipped and test scenarios:
# allow those two folders (processes the tests start inherit it). Tests of confinement use
# folders of their own.
os.environ["BENEFITSHARE_ALLOW"] = os.pathsep.join([str(SCENARIOS), str(DATA)])


@pytest.fixture(autouse=True)
def _numpy_errors_raise():
    old = np.seterr(all="raise", under="ignore")
    yield
    np.seterr(**old)


@pytest.fixture(scope="session")
def reference():
    return bs.load_scenario(SCENARIOS / "reference.toml")


@pytest.fixture(scope="session")
def tiny():
    return bs.load_scenario(DATA / "tiny.toml")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
