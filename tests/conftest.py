"""Shared fixtures: fresh random generators (seed reported on failure) and the TensorRT builder flavour."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

# Eager graphs are many small ops: one thread avoids OpenMP barrier stalls on a shared 2-core CI machine.
torch.set_num_threads(1)


@pytest.fixture
def rng(request):
    """A fresh generator per test; its seed is in the report (and TRTNET_TEST_SEED replays one)."""
    seed = int(os.environ.get("TRTNET_TEST_SEED") or int.from_bytes(os.urandom(4), "little"))
    request.node.user_properties.append(("seed", seed))
    return np.random.default_rng(seed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    seeds = [v for k, v in item.user_properties if k == "seed"]
    if report.failed and seeds:
        report.sections.append(("random seed", f"TRTNET_TEST_SEED={seeds[0]} replays this test's inputs"))


@pytest.fixture(scope="session", autouse=True)
def weights_cache(tmp_path_factory):
    """The weights cache of this test session (never the user's ~/.cache/trtnet); subprocesses inherit it."""
    from trtnet.weights.cache import ENV
    before = os.environ.get(ENV)
    path = tmp_path_factory.mktemp("weights_cache")
    os.environ[ENV] = str(path)
    yield path
    if before is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = before


@pytest.fixture(scope="session")
def flavor():
    """The TensorRT module that builds engines here (TensorRT-RTX on CPU-only machines).  Missing is a
    failure, not a skip: CI must build every network."""
    from trtnet import flavor as fl
    return fl.resolve()
