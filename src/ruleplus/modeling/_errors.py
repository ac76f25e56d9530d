"""The errors the estimators raise: ruleplus errors that are also scikit-learn's.

scikit-learn's estimator contract asks for a ``ValueError`` on bad input and for
:class:`sklearn.exceptions.NotFittedError` on use before ``fit``; ruleplus code (the command
line, the service) catches :class:`ruleplus.errors.RuleplusError` and reads the column from its
context. Each class here is both, under its ruleplus name (so ``to_dict()["type"]`` still reads
``DataError`` / ``NotFittedError``).

They live here rather than in :mod:`ruleplus.errors` because importing scikit-learn there would
add about two seconds to ``import ruleplus`` for every user of the decision engine;
:mod:`ruleplus.modeling` imports scikit-learn anyway.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from ruleplus import errors

__all__ = ["DataError", "NotFittedError"]


class DataError(errors.DataError, ValueError):
    """Input an estimator refuses (the context names the column); also a ``ValueError``."""


class NotFittedError(errors.NotFittedError, SklearnNotFittedError):  # type: ignore[misc]
    """An estimator was used before ``fit``; also scikit-learn's ``NotFittedError``."""
