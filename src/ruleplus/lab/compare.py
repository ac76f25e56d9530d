"""Champion/challenger analysis of the decisions the service stored.

Per arm: volumes, approval rates and, once outcomes are joined (``ruleplus lab outcomes
attach``), bad rates among the approved, each with an interval; each challenger against the
champion with a two-proportion z test and a bootstrap interval, and a plain verdict with the
sample size still needed when the difference is not yet significant.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select

from ruleplus.errors import NotFoundError
from ruleplus.lab.stats import (
    bootstrap_difference,
    sample_size_per_arm,
    two_proportion_test,
    wilson_interval,
)
from ruleplus.store import Database
from ruleplus.store.tables import DecisionRecord, Deployment, Outcome

__all__ = ["ArmCounts", "compare_arms", "compare_deployment", "deployment_arm_counts"]

CHAMPION = "champion"
ALPHA = 0.05
POWER = 0.8


@dataclass(frozen=True)
class ArmCounts:
    """What one arm decided: decisions, approvals, approvals with an outcome, bad ones."""

    arm: str
    n: int
    approved: int
    with_outcome: int = 0
    bad: int = 0


def deployment_arm_counts(
    db: Database,
    deployment_id: int,
    *,
    outcome: str | None = None,
    approve: str = "approve",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> tuple[dict[str, Any], list[ArmCounts], str | None]:
    """Count a deployment's stored decisions by arm (one grouped query).

    The decisions of a deployment are those of its partner, product, strategy and channel
    (any channel for ``*``) from the time it went live until the next deployment of the same
    binding. ``outcome`` names the joined outcome (default: the only one recorded for them).

    Returns
    -------
    tuple
        The deployment's description, the counts per arm and the outcome name used.
    """
    with db.session() as session:
        dep = session.get(Deployment, deployment_id)
        if dep is None:
            raise NotFoundError("no such deployment", deployment=deployment_id)
        later = session.execute(
            select(func.min(Deployment.created_at)).where(
                Deployment.partner_id == dep.partner_id,
                Deployment.product == dep.product,
                Deployment.channel == dep.channel,
                Deployment.id > dep.id,
            )
        ).scalar_one_or_none()
        where = [
            DecisionRecord.partner_id == dep.partner_id,
            DecisionRecord.product == dep.product,
            DecisionRecord.strategy_id == dep.strategy_id,
            DecisionRecord.created_at >= dep.created_at,
        ]
        if dep.channel != "*":
            where.append(DecisionRecord.channel == dep.channel)
        if since is not None:
            where.append(DecisionRecord.created_at >= since)
        for end in (later, until):  # compared in SQL: SQLite hands back naive times
            if end is not None:
                where.append(DecisionRecord.created_at < end)
        if outcome is None:
            names = session.execute(
                select(Outcome.name)
                .join(DecisionRecord, DecisionRecord.id == Outcome.decision_id)
                .where(Outcome.partner_id == dep.partner_id, *where)
                .distinct()
                .limit(2)
            ).scalars()
            found = list(names)
            outcome = found[0] if len(found) == 1 else None
        approved = DecisionRecord.outcome == approve
        bad = case((and_(approved, Outcome.value != 0), 1), else_=0)
        query = (
            select(
                DecisionRecord.arm,
                func.count(),
                func.sum(case((approved, 1), else_=0)),
                func.count(case((approved, Outcome.value))),
                func.sum(bad),
            )
            .outerjoin(
                Outcome,
                and_(
                    Outcome.decision_id == DecisionRecord.id,
                    Outcome.partner_id == DecisionRecord.partner_id,
                    Outcome.name == (outcome or ""),
                ),
            )
            .where(*where)
            .group_by(DecisionRecord.arm)
        )
        counts = [
            ArmCounts(str(arm), int(n), int(a or 0), int(w or 0), int(b or 0))
            for arm, n, a, w, b in session.execute(query)
        ]
        info = {
            "deployment_id": dep.id,
            "partner_id": dep.partner_id,
            "product": dep.product,
            "channel": dep.channel,
            "strategy_id": dep.strategy_id,
            "champion": dep.champion,
            "challengers": list(dep.challengers),
            "live_from": dep.created_at.isoformat(),
            "replaced_at": later.isoformat() if later else None,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        }
    return info, counts, outcome


def compare_deployment(
    db: Database,
    deployment_id: int,
    *,
    outcome: str | None = None,
    approve: str = "approve",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """:func:`deployment_arm_counts` then :func:`compare_arms`."""
    info, counts, name = deployment_arm_counts(
        db, deployment_id, outcome=outcome, approve=approve, since=since, until=until
    )
    return {"deployment": info, "outcome": name, **compare_arms(counts, seed=seed)}


def _arm(c: ArmCounts) -> dict[str, Any]:
    approval_ci = wilson_interval(c.approved, c.n)
    bad_ci = wilson_interval(c.bad, c.with_outcome)
    return {
        "arm": c.arm,
        "n": c.n,
        "approved": c.approved,
        "approval_rate": c.approved / c.n if c.n else None,
        "approval_rate_ci": list(approval_ci) if approval_ci else None,
        "with_outcome": c.with_outcome,
        "bad": c.bad,
        "bad_rate": c.bad / c.with_outcome if c.with_outcome else None,
        "bad_rate_ci": list(bad_ci) if bad_ci else None,
    }


def _test(k_a: int, n_a: int, k_b: int, n_b: int, seed: int) -> dict[str, Any] | None:
    test = two_proportion_test(k_a, n_a, k_b, n_b)
    boot = bootstrap_difference(k_a, n_a, k_b, n_b, seed=seed)
    if test is None or boot is None:
        return None
    needed = sample_size_per_arm(test.p_a, test.p_b, alpha=ALPHA, power=POWER, ratio=n_b / n_a)
    return {
        "champion": test.p_a,
        "challenger": test.p_b,
        "difference": test.difference,
        "z": test.z,
        "p_value": test.p_value,
        "ci": [test.ci_low, test.ci_high],
        "bootstrap_ci": list(boot),
        "significant": test.p_value < ALPHA,
        "needed_champion": needed,
        "needed_challenger": None if needed is None else math.ceil(needed * n_b / n_a),
    }


def _more(test: dict[str, Any], n_a: int, n_b: int) -> int | None:
    if test["needed_champion"] is None:
        return None
    return max(0, int(test["needed_champion"]) - n_a) + max(0, int(test["needed_challenger"]) - n_b)


def _verdict(
    bad: dict[str, Any] | None,
    approval: dict[str, Any] | None,
    rows: dict[str, Any],
    champion: dict[str, Any],
) -> tuple[str, str]:
    if bad is not None:
        if bad["significant"]:
            better = bad["difference"] < 0
            word = "better" if better else "worse"
            return word, (
                f"challenger {word}: bad rate {bad['challenger']:.2%} against "
                f"{bad['champion']:.2%} (p = {bad['p_value']:.3g})"
            )
        more = _more(bad, champion["with_outcome"], rows["with_outcome"])
        if more is None:
            return "not_significant", "not yet significant: no difference in bad rate so far"
        rate = (rows["approved"] + champion["approved"]) / max(rows["n"] + champion["n"], 1)
        share = (rows["with_outcome"] + champion["with_outcome"]) / max(
            rows["approved"] + champion["approved"], 1
        )
        decisions = math.ceil(more / (rate * share)) if rate * share > 0 else None
        tail = f" (about {decisions:,} more decisions)" if decisions else ""
        return "not_significant", (
            f"not yet significant, need about {more:,} more approved applications with an "
            f"outcome{tail}"
        )
    if approval is None:
        return "insufficient", "not enough decisions in both arms to compare"
    if approval["significant"]:
        word = "higher" if approval["difference"] > 0 else "lower"
        return "no_outcomes", (
            f"no outcomes joined yet; the challenger's approval rate is significantly {word} "
            f"({approval['challenger']:.2%} against {approval['champion']:.2%})"
        )
    more = _more(approval, champion["n"], rows["n"])
    if more is None:
        return "no_outcomes", "no outcomes joined yet; approval rates are equal so far"
    return "no_outcomes", (
        "no outcomes joined yet; the approval rates differ but not yet significantly, need "
        f"about {more:,} more decisions"
    )


def compare_arms(counts: list[ArmCounts], *, seed: int = 0) -> dict[str, Any]:
    """Per-arm rates and each challenger against the champion.

    Parameters
    ----------
    counts : list of ArmCounts
        One entry per arm; the champion's arm is ``champion`` (the service's name).
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``arms`` (per arm: volumes, rates and Wilson intervals) and ``challengers`` (per
        challenger: ``approval`` and ``bad_rate`` tests, ``verdict`` and ``verdict_text``).
    """
    arms = [_arm(c) for c in sorted(counts, key=lambda c: (c.arm != CHAMPION, c.arm))]
    champion = next((a for a in arms if a["arm"] == CHAMPION), None)
    challengers = []
    for rows in arms:
        if rows["arm"] == CHAMPION or champion is None:
            continue
        approval = _test(champion["approved"], champion["n"], rows["approved"], rows["n"], seed)
        bad = _test(
            champion["bad"], champion["with_outcome"], rows["bad"], rows["with_outcome"], seed
        )
        code, text = _verdict(bad, approval, rows, champion)
        challengers.append(
            {
                "arm": rows["arm"],
                "approval": approval,
                "bad_rate": bad,
                "verdict": code,
                "verdict_text": text,
            }
        )
    return {"arms": arms, "challengers": challengers}
