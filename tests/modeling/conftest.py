"""Shared fixtures of the model-factory tests: small synthetic loan data."""

from __future__ import annotations

import polars as pl
import pytest

from ruleplus.datasets import synth_applications

DROP = ["defaulted", "defaultProb", "applicantId", "deviceId", "phone", "ipAddress", "birthDate"]


@pytest.fixture(scope="session")
def applications() -> pl.DataFrame:
    """3,000 synthetic applications (with ``defaulted`` and ``applicationTime``)."""
    return synth_applications(3000, seed=11)


@pytest.fixture(scope="session")
def features(applications: pl.DataFrame) -> pl.DataFrame:
    """Model features of :func:`applications` (no ids, no target, no leak)."""
    return applications.drop([*DROP, "applicationTime"])


@pytest.fixture(scope="session")
def target(applications: pl.DataFrame) -> pl.Series:
    return applications.get_column("defaulted")
