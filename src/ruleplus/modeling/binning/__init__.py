"""Optimal binning: fine bins, an exact merge under constraints, WOE and IV tables."""

from ruleplus.modeling.binning._binner import OptimalBinner, WOETransformer
from ruleplus.modeling.binning._feature import (
    UNSEEN_RULES,
    BinningOptions,
    FeatureBinning,
    fit_feature,
    format_value,
)
from ruleplus.modeling.binning._optimal import OBJECTIVES, TRENDS, best_partition
from ruleplus.modeling.binning._table import BinningTable, woe_iv

__all__ = [
    "OBJECTIVES",
    "TRENDS",
    "UNSEEN_RULES",
    "BinningOptions",
    "BinningTable",
    "FeatureBinning",
    "OptimalBinner",
    "WOETransformer",
    "best_partition",
    "fit_feature",
    "format_value",
    "woe_iv",
]
