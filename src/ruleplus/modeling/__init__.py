"""Model factory: binning, WOE, feature selection, scorecards, gradient boosting, validation.

Data → binning → scorecard or GBM → validation report → a strategy node the engine runs::

    from ruleplus.modeling import Scorecard, WOETransformer
    card = Scorecard(binner=WOETransformer(special_codes=[-7, -8, -9])).fit(X, y)
    card.predict_score(X); card.reason_codes(X)
    card.to_strategy()   # a strategy document with a ``scorecard`` node
    card.to_sql(); card.to_pmml()

Estimators follow scikit-learn's contract and take pandas or polars frames.
"""

from ruleplus.modeling.artifacts import load_artifact, save_artifact
from ruleplus.modeling.binning import (
    BinningTable,
    FeatureBinning,
    OptimalBinner,
    WOETransformer,
)
from ruleplus.modeling.gbm import GBMClassifier
from ruleplus.modeling.metrics import (
    auc,
    calibration_table,
    gains_table,
    gini,
    ks,
    roc_curve,
    summary_metrics,
)
from ruleplus.modeling.monitoring import csi, psi, psi_table
from ruleplus.modeling.scorecard import Scorecard
from ruleplus.modeling.selection import FeatureSelector, information_value

__all__ = [
    "BinningTable",
    "FeatureBinning",
    "FeatureSelector",
    "GBMClassifier",
    "OptimalBinner",
    "Scorecard",
    "WOETransformer",
    "auc",
    "calibration_table",
    "csi",
    "gains_table",
    "gini",
    "information_value",
    "ks",
    "load_artifact",
    "psi",
    "psi_table",
    "roc_curve",
    "save_artifact",
    "summary_metrics",
]
