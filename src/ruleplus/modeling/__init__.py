"""Model factory: binning, WOE, feature selection, scorecards, gradient boosting, validation.

Data → binning → scorecard or GBM → validation report → a strategy node the engine runs.
"""

from ruleplus.modeling.binning import (
    BinningTable,
    FeatureBinning,
    OptimalBinner,
    WOETransformer,
)

__all__ = [
    "BinningTable",
    "FeatureBinning",
    "OptimalBinner",
    "WOETransformer",
]
