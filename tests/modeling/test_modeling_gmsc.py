# ruff: noqa: N806  (scikit-learn / maths naming: X, C, matrices)
"""Give Me Some Credit (shared data): the scorecard reaches the issue's AUC target."""

from __future__ import annotations

import pytest
from sklearn.model_selection import train_test_split

from ruleplus.config import Settings
from ruleplus.datasets import read_table
from ruleplus.modeling import Scorecard, auc

GMSC = Settings.load().shared_dir / "data/credit/gmsc/cs-training.csv.zip"


@pytest.mark.slow
@pytest.mark.skipif(not GMSC.is_file(), reason=f"shared data not found: {GMSC}")
def test_gmsc_scorecard_auc() -> None:
    frame = read_table(GMSC).drop("")
    y = frame.get_column("SeriousDlqin2yrs").to_numpy()
    X = frame.drop("SeriousDlqin2yrs").to_pandas()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=42
    )
    card = Scorecard().fit(X_train, y_train)
    assert auc(y_test, card.predict_proba(X_test)[:, 1]) >= 0.856
