"""Exports of fitted models: ruleplus strategy nodes (YAML), SQL and PMML.

Each export writes the same bins in the same order as :class:`~ruleplus.modeling.Scorecard`
scores them — missing first, then special codes, then the regular bins, else the unseen rule —
so a row gets the same points in Python, in the engine, in a warehouse and in a PMML consumer.

* **Strategy node.** Bins are rule cells (``< 36``, ``[36..52)``, ``>= 52``, ``"own", "rent"``),
  special codes go to ``special``, missing values to ``missing_points``, unseen categories to
  ``else_points``. The expression language names fields by identifiers, so a column such as
  ``NumberOfTime30-59DaysPastDueNotWorse`` becomes the input
  ``NumberOfTime30_59DaysPastDueNotWorse`` (:func:`field_name`); the strategy's description
  lists the renames. :func:`scorecard_strategy`
  wraps the node in a complete document (inputs typed from the training columns, reason
  catalogue, and a ``probability`` derived from the score) that ``ruleplus validate`` accepts and
  ``ruleplus batch`` runs.
* **SQL.** One query with a CASE expression per characteristic (standard SQL, double-quoted
  identifiers), runnable by SQLite, PostgreSQL, DuckDB, Spark SQL, Snowflake…
* **PMML.** A PMML 4.4 ``Scorecard`` written with :mod:`xml.etree` (no JVM): characteristics with
  attributes and partial scores (categories matched by ``equal`` predicates), outputs
  ``Final Score``, ``Probability of bad`` (as :meth:`~ruleplus.modeling.Scorecard.score_to_proba`)
  and reason codes ranked ``pointsBelow`` against ``baselineMethod="max"``, as the engine ranks
  them. An independent engine (pypmml) scores it like Python (tests/modeling/test_modeling_pmml).

The SQL and PMML exports read missing values as nulls (NaN too, in PMML): the cleaning Python
does when it reads a table (text such as ``"n/a"`` read as missing, blanks trimmed, numeric text
parsed) is the reader's job there.
"""

from __future__ import annotations

from typing import Any, Protocol
from xml.etree import ElementTree as ET

import numpy as np
import yaml
from numpy.typing import NDArray

from ruleplus._version import __version__
from ruleplus.modeling._naming import field_name, field_names
from ruleplus.modeling.binning import FeatureBinning, format_value

__all__ = [
    "GBMModel",
    "ScorecardModel",
    "field_name",
    "field_names",
    "gbm_node",
    "gbm_strategy",
    "scorecard_node",
    "scorecard_pmml",
    "scorecard_sql",
    "scorecard_strategy",
    "to_yaml",
]


class ScorecardModel(Protocol):
    """What the exports read of a fitted scorecard (:class:`~ruleplus.modeling.Scorecard`)."""

    features_: list[str]
    points_by_bin_: dict[str, NDArray[np.float64]]
    unseen_points_: dict[str, float]
    base_points_: float
    offset_: float
    factor_: float
    reasons_top: int
    input_types_: dict[str, str]

    @property
    def binnings(self) -> dict[str, FeatureBinning]:
        """Fitted binning of each characteristic, in scorecard order."""
        ...

    def max_points(self) -> dict[str, float]:
        """Largest points each characteristic can give."""
        ...


class GBMModel(Protocol):
    """What the exports read of a fitted :class:`~ruleplus.modeling.GBMClassifier`."""

    features_: list[str]
    model_features_: list[str]
    categories_: dict[str, list[Any]]
    input_names_: dict[str, str]
    input_types_: dict[str, str]


def _num(value: float) -> float:
    return float(value)


def _reason_code(i: int) -> str:
    return f"RC{i + 1:02d}"


def _special_value(code: Any) -> Any:
    if isinstance(code, float) and code.is_integer():
        return int(code)
    return code


def scorecard_node(
    scorecard: ScorecardModel, node_id: str = "scorecard", output: str = "score"
) -> dict[str, Any]:
    """The ``scorecard`` node of a fitted scorecard, as a dict ready for YAML.

    Parameters
    ----------
    scorecard : ScorecardModel
        Fitted.
    node_id : str, default="scorecard"
        Node id.
    output : str, default="score"
        Field receiving the total points.
    """
    names = field_names(list(scorecard.features_))
    characteristics = []
    for i, (feature, fb) in enumerate(scorecard.binnings.items()):
        pts = scorecard.points_by_bin_[feature]
        bins = [
            {"when": label, "points": _num(p)}
            for label, p in zip(fb.regular_labels(), pts[: fb.n_regular], strict=True)
        ]
        special = [
            {"value": _special_value(code), "points": _num(pts[fb.n_regular + k])}
            for k, code in enumerate(fb.special_codes)
        ]
        other = (
            scorecard.unseen_points_[feature]
            if fb.dtype == "categorical"
            else float(pts[: fb.n_regular].min())
        )
        char: dict[str, Any] = {
            "name": names[feature],
            "input": names[feature],
            "reason": _reason_code(i),
            "missing_points": _num(pts[fb.missing_index]),
            "else_points": _num(other),
            "bins": bins,
        }
        if special:
            char["special"] = special
        characteristics.append(char)
    return {
        "id": node_id,
        "type": "scorecard",
        "description": "Exported by ruleplus.modeling (WOE logistic regression scorecard)",
        "base_points": _num(scorecard.base_points_),
        "output": output,
        "reasons_top": int(scorecard.reasons_top),
        "characteristics": characteristics,
    }


def _renames(names: dict[str, str]) -> str:
    changed = [f"{k} -> {v}" for k, v in names.items() if k != v]
    return ("Inputs renamed from data columns: " + "; ".join(changed)) if changed else ""


def scorecard_strategy(
    scorecard: ScorecardModel, strategy_id: str = "scorecard", version: str = "1"
) -> dict[str, Any]:
    """A complete strategy document around :func:`scorecard_node`.

    Inputs are typed from the training columns (numbers, text, booleans; all optional since
    missing values have their points), the reason catalogue names each characteristic, and an
    expression node derives ``probability`` (of bad) from the score.
    """
    names = field_names(list(scorecard.features_))
    kinds = scorecard.input_types_
    node = scorecard_node(scorecard)
    reasons = {
        _reason_code(i): {"en": f"{feature}", "zh": f"{feature}"}
        for i, feature in enumerate(scorecard.features_)
    }
    offset, factor = scorecard.offset_, scorecard.factor_
    return {
        "id": strategy_id,
        "version": str(version),
        "title": "Scorecard exported by ruleplus.modeling",
        "description": _renames(names),
        "inputs": {names[f]: {"type": kinds[f]} for f in scorecard.features_},
        "outputs": ["score", "probability"],
        "reasons": reasons,
        "nodes": [
            node,
            {
                "id": "probability_of_bad",
                "type": "expression",
                "assign": {"probability": f"1 / (1 + exp((score - {offset!r}) / {factor!r}))"},
            },
        ],
    }


def to_yaml(document: dict[str, Any]) -> str:
    """YAML text of a strategy document (keys in order, floats round-trip exactly)."""
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


# SQL --------------------------------------------------------------------------------------------


def _sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_value(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _sql_case(column: str, fb: FeatureBinning, pts: Any, other: float) -> str:
    col = _sql_ident(column)
    lines = [f"    CASE WHEN {col} IS NULL THEN {pts[fb.missing_index]!r}"]
    for k, code in enumerate(fb.special_codes):
        lines.append(f"      WHEN {col} = {_sql_value(code)} THEN {pts[fb.n_regular + k]!r}")
    if fb.dtype == "numeric":
        s = fb.splits
        for i in range(fb.n_regular):
            if not s:
                cond = "1 = 1"
            elif i == 0:
                cond = f"{col} < {s[0]!r}"
            elif i == len(s):
                cond = f"{col} >= {s[-1]!r}"
            else:
                cond = f"{col} >= {s[i - 1]!r} AND {col} < {s[i]!r}"
            lines.append(f"      WHEN {cond} THEN {float(pts[i])!r}")
    else:
        for i, group in enumerate(fb.groups):
            if group:
                values = ", ".join(_sql_value(v) for v in group)
                lines.append(f"      WHEN {col} IN ({values}) THEN {float(pts[i])!r}")
    lines.append(f"      ELSE {float(other)!r} END")
    return "\n".join(lines)


def scorecard_sql(scorecard: ScorecardModel, table: str = "applications") -> str:
    """A SQL query adding each characteristic's points and the ``score`` to ``table``.

    The points columns are named ``pts_<field>``; the score adds them to the base points in
    characteristic order, as Python does.
    """
    names = field_names(list(scorecard.features_))
    parts = []
    for feature, fb in scorecard.binnings.items():
        pts = [float(p) for p in scorecard.points_by_bin_[feature]]
        other = (
            scorecard.unseen_points_[feature]
            if fb.dtype == "categorical"
            else min(pts[: fb.n_regular])
        )
        case = _sql_case(feature, fb, pts, other)
        parts.append(f"{case} AS {_sql_ident('pts_' + names[feature])}")
    total = " + ".join(
        [repr(float(scorecard.base_points_))]
        + [_sql_ident("pts_" + names[f]) for f in scorecard.features_]
    )
    body = ",\n".join(parts)
    return (
        f"-- scorecard exported by ruleplus.modeling: score = base points + points of each bin\n"
        f"WITH points AS (\n  SELECT t.*,\n{body}\n  FROM {_sql_ident(table)} AS t\n)\n"
        f'SELECT points.*, {total} AS "score"\nFROM points'
    )


# PMML -------------------------------------------------------------------------------------------

PMML_NS = "http://www.dmg.org/PMML-4_4"


def _pmml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _pmml_type(kind: str) -> tuple[str, str]:
    """``optype`` and ``dataType`` of a characteristic's field (``kind``: its input type).

    Numbers are continuous doubles, categories or not (pypmml compares the values of a
    categorical double without a list of valid values wrongly). Booleans are the strings
    ``true`` / ``false``: with a ``boolean`` field pypmml reads a missing value as false,
    while Python gives it the missing bin.
    """
    return ("continuous", "double") if kind == "number" else ("categorical", "string")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def scorecard_pmml(scorecard: ScorecardModel) -> str:
    """A PMML 4.4 ``Scorecard`` document of a fitted scorecard (UTF-8 XML text)."""
    ET.register_namespace("", PMML_NS)
    q = f"{{{PMML_NS}}}"
    root = ET.Element(f"{q}PMML", {"version": "4.4"})
    header = ET.SubElement(root, f"{q}Header", {"description": "ruleplus WOE scorecard"})
    ET.SubElement(header, f"{q}Application", {"name": "ruleplus", "version": __version__})
    kinds = scorecard.input_types_
    features = list(scorecard.features_)
    dictionary = ET.SubElement(
        root, f"{q}DataDictionary", {"numberOfFields": str(len(features) + 1)}
    )
    binnings = scorecard.binnings
    # no list of valid values: an engine may read a value outside it as missing (pypmml does,
    # even with invalidValueTreatment="asIs"), while unseen categories and special codes have
    # points of their own
    for feature in features:
        optype, dtype = _pmml_type(kinds[feature])
        ET.SubElement(
            dictionary, f"{q}DataField", {"name": feature, "optype": optype, "dataType": dtype}
        )
    ET.SubElement(
        dictionary, f"{q}DataField", {"name": "score", "optype": "continuous", "dataType": "double"}
    )
    model = ET.SubElement(
        root,
        f"{q}Scorecard",
        {
            "modelName": "ruleplus_scorecard",
            "functionName": "regression",
            "useReasonCodes": "true",
            "reasonCodeAlgorithm": "pointsBelow",
            "initialScore": repr(float(scorecard.base_points_)),
            "baselineMethod": "max",
        },
    )
    schema = ET.SubElement(model, f"{q}MiningSchema")
    for feature in features:
        # a number that is no number is refused (Python refuses such text); categories as is
        treatment = "returnInvalid" if binnings[feature].dtype == "numeric" else "asIs"
        ET.SubElement(
            schema,
            f"{q}MiningField",
            {"name": feature, "usageType": "active", "invalidValueTreatment": treatment},
        )
    ET.SubElement(schema, f"{q}MiningField", {"name": "score", "usageType": "predicted"})
    output = ET.SubElement(model, f"{q}Output")
    ET.SubElement(
        output,
        f"{q}OutputField",
        {
            "name": "Final Score",
            "feature": "predictedValue",
            "dataType": "double",
            "optype": "continuous",
        },
    )
    probability = ET.SubElement(
        output,
        f"{q}OutputField",
        {
            "name": "Probability of bad",
            "feature": "transformedValue",
            "dataType": "double",
            "optype": "continuous",
        },
    )
    probability.append(_probability_of_bad(q, "Final Score", scorecard.offset_, scorecard.factor_))
    for rank in range(1, int(scorecard.reasons_top) + 1):
        ET.SubElement(
            output,
            f"{q}OutputField",
            {
                "name": f"Reason Code {rank}",
                "rank": str(rank),
                "feature": "reasonCode",
                "dataType": "string",
                "optype": "categorical",
            },
        )
    characteristics = ET.SubElement(model, f"{q}Characteristics")
    best = scorecard.max_points()
    for i, feature in enumerate(features):
        fb = binnings[feature]
        pts = [float(p) for p in scorecard.points_by_bin_[feature]]
        char = ET.SubElement(
            characteristics,
            f"{q}Characteristic",
            {
                "name": f"{field_name(feature)}_points",
                "reasonCode": _reason_code(i),
                "baselineScore": repr(best[feature]),
            },
        )

        def attribute(points: float, predicate: ET.Element, parent: ET.Element = char) -> None:
            attr = ET.SubElement(parent, f"{q}Attribute", {"partialScore": repr(points)})
            attr.append(predicate)

        def simple(op: str, value: Any = None, name: str = feature) -> ET.Element:
            attrs = {"field": name, "operator": op}
            if value is not None:
                attrs["value"] = _pmml_value(value)
            return ET.Element(f"{q}SimplePredicate", attrs)

        def one_of(values: list[Any]) -> ET.Element:
            # equal predicates, not a SimpleSetPredicate: engines read the quotes and
            # backslashes of an Array's strings differently (pypmml ignores the \" escape)
            if not values:
                return ET.Element(f"{q}False")
            if len(values) == 1:
                return simple("equal", values[0])
            pred = ET.Element(f"{q}CompoundPredicate", {"booleanOperator": "or"})
            pred.extend(simple("equal", v) for v in values)
            return pred

        attribute(pts[fb.missing_index], simple("isMissing"))
        for k, code in enumerate(fb.special_codes):
            # a numeric column holds numeric special codes only (as Python bins them)
            usable = fb.dtype != "numeric" or _is_number(code)
            attribute(pts[fb.n_regular + k], one_of([code] if usable else []))
        if fb.dtype == "numeric":
            s = fb.splits
            for j in range(fb.n_regular):
                if not s:
                    pred = ET.Element(f"{q}True")
                elif j == 0:
                    pred = simple("lessThan", s[0])
                elif j == len(s):
                    pred = simple("greaterOrEqual", s[-1])
                else:
                    pred = ET.Element(f"{q}CompoundPredicate", {"booleanOperator": "and"})
                    pred.append(simple("greaterOrEqual", s[j - 1]))
                    pred.append(simple("lessThan", s[j]))
                attribute(pts[j], pred)
            other = min(pts[: fb.n_regular])
        else:
            for j, group in enumerate(fb.groups):
                attribute(pts[j], one_of(list(group)))
            other = scorecard.unseen_points_[feature]
        attribute(other, ET.Element(f"{q}True"))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _probability_of_bad(q: str, score: str, offset: float, factor: float) -> ET.Element:
    """``1 / (1 + exp((score - offset) / factor))``, as :meth:`Scorecard.score_to_proba`."""

    def apply(function: str, *args: ET.Element) -> ET.Element:
        element = ET.Element(f"{q}Apply", {"function": function})
        element.extend(args)
        return element

    def constant(value: float) -> ET.Element:
        element = ET.Element(f"{q}Constant", {"dataType": "double"})
        element.text = repr(float(value))
        return element

    ref = ET.Element(f"{q}FieldRef", {"field": score})
    odds = apply("exp", apply("/", apply("-", ref, constant(offset)), constant(factor)))
    return apply("/", constant(1.0), apply("+", constant(1.0), odds))


# GBM --------------------------------------------------------------------------------------------


def gbm_node(
    model: GBMModel,
    artifact: str = "model.txt",
    node_id: str = "gbm",
    output: str = "probability",
) -> dict[str, Any]:
    """The ``model`` node of a fitted :class:`~ruleplus.modeling.GBMClassifier`.

    Numeric features map to their (renamed) input field; categorical ones to an expression
    giving the integer code LightGBM was trained on (null for missing or unseen).
    """
    names = model.input_names_
    features: dict[str, str] = {}
    for feature, model_name in zip(model.features_, model.model_features_, strict=True):
        field = names[feature]
        cats = model.categories_.get(feature)
        if cats is None:
            features[model_name] = field
        else:
            expr = "null"
            for code in range(len(cats) - 1, -1, -1):
                expr = f"if {field} == {format_value(cats[code])} then {code} else ({expr})"
            features[model_name] = expr
    return {
        "id": node_id,
        "type": "model",
        "description": "LightGBM model exported by ruleplus.modeling",
        "format": "lightgbm",
        "artifact": artifact,
        "features": features,
        "output": output,
    }


def gbm_strategy(
    model: GBMModel,
    artifact: str = "model.txt",
    strategy_id: str = "gbm",
    version: str = "1",
) -> dict[str, Any]:
    """A complete strategy document around :func:`gbm_node` (``artifact`` relative to it)."""
    names = model.input_names_
    return {
        "id": strategy_id,
        "version": str(version),
        "title": "Gradient boosting model exported by ruleplus.modeling",
        "description": _renames({f: names[f] for f in model.features_}),
        "inputs": {names[f]: {"type": model.input_types_[f]} for f in model.features_},
        "outputs": ["probability"],
        "nodes": [gbm_node(model, artifact=artifact)],
    }
