"""Partner field mappings: from a partner's JSON to the canonical application.

A mapping is data, so onboarding a partner is a configuration, not a release::

    fields:
      applicantId:       {from: applicant.id}
      creditScore:       {from: bureau.score}
      monthlyIncome:     {from: income.monthlyCents, scale: 0.01}      # unit conversion
      residentialStatus: {from: housing, map: {R: rent, O: own}, default: rent}
      channel:           {value: app}                                  # a constant
      lti:               {expr: "loanAmount / (monthlyIncome * 12)"}   # computed, from above
    passthrough: false        # also copy the partner's other top-level fields unchanged

Fields are produced in order, so a computed field may use the ones above it. Problems (a value
missing from ``map`` with no default, a non-numeric value to scale) are reported per field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ruleplus.errors import FieldProblem, StrategyLoadError
from ruleplus.expr import CompiledExpression, Kind, Ty, compile_expression

__all__ = ["FieldMapping", "FieldRule", "MappingDoc"]


class FieldRule(BaseModel):
    """How one canonical field is produced."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str | None = Field(None, alias="from", description="dotted path in the partner's JSON")
    value: Any = Field(None, description="a constant")
    expr: str | None = Field(None, description="an expression over the fields mapped above")
    map: dict[str, Any] | None = Field(None, description="value translation (enums)")
    default: Any = Field(None, description="used when the source is missing or not in the map")
    scale: float | None = Field(None, description="multiply numbers (unit conversion)")
    offset: float | None = Field(None, description="then add (unit conversion)")
    sensitive: bool = Field(
        False, description="personal data: the service stores only a keyed digest of it"
    )

    @model_validator(mode="after")
    def _one_source(self) -> FieldRule:
        given = [self.source is not None, self.value is not None, self.expr is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of 'from', 'value' or 'expr'")
        return self


class MappingDoc(BaseModel):
    """A mapping document."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, FieldRule]
    passthrough: bool = False


_MISSING = object()


def _dig(payload: Mapping[str, Any], path: str) -> Any:
    current: Any = payload
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


class FieldMapping:
    """A compiled mapping.

    Parameters
    ----------
    document : dict
        The mapping document (see module docstring).
    """

    def __init__(self, document: Mapping[str, Any]) -> None:
        try:
            self.doc = MappingDoc.model_validate(document)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise StrategyLoadError(f"invalid field mapping: {problems}") from None
        self.document = dict(document)
        self._computed: dict[str, CompiledExpression] = {}
        known: dict[str, Ty] = {}
        for name, rule in self.doc.fields.items():
            if rule.expr is not None:
                self._computed[name] = compile_expression(rule.expr, known)
            known[name] = Ty(Kind.ANY)

    @property
    def passthrough(self) -> bool:
        """Whether the partner's other top-level fields are copied unchanged."""
        return self.doc.passthrough

    def sources(self) -> list[tuple[str, str, bool]]:
        """``(path in the partner's JSON, canonical field, marked sensitive)`` of each ``from``
        rule."""
        return [
            (rule.source, name, rule.sensitive)
            for name, rule in self.doc.fields.items()
            if rule.source is not None
        ]

    def apply(self, payload: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldProblem]]:
        """Map one partner payload; returns the canonical record and the problems found."""
        out: dict[str, Any] = dict(payload) if self.doc.passthrough else {}
        problems: list[FieldProblem] = []
        for name, rule in self.doc.fields.items():
            if rule.value is not None:
                out[name] = rule.value
                continue
            if rule.expr is not None:
                out[name] = self._computed[name](out)
                continue
            assert rule.source is not None
            raw = _dig(payload, rule.source)
            if raw is _MISSING or raw is None:
                if rule.default is not None:
                    out[name] = rule.default
                continue
            if rule.map is not None:
                key = str(raw).lower() if isinstance(raw, bool) else str(raw)
                if key in rule.map:
                    raw = rule.map[key]
                elif rule.default is not None:
                    raw = rule.default
                else:
                    problems.append(
                        FieldProblem(
                            rule.source, f"value is not one of {', '.join(sorted(rule.map))}"
                        )
                    )
                    continue
            if rule.scale is not None or rule.offset is not None:
                if isinstance(raw, bool) or not isinstance(raw, int | float):
                    problems.append(FieldProblem(rule.source, "expected a number to convert"))
                    continue
                raw = raw * (rule.scale if rule.scale is not None else 1) + (rule.offset or 0)
            out[name] = raw
        return out, problems
