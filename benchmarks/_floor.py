"""Hand-written floor for the engine benchmark.

``decide`` is the reference loan policy
(``$RULEPLUS_SHARED/benchmarks/reference-loan-policy.jdm.json``) written out as a plain
Python if-chain: the fastest any interpreter-hosted engine could hope to be for this policy.
It mirrors the JDM graph node for node:

* ``derive`` (expression node, pass-through): ``monthlyPayment``, ``dti``, ``lti``;
* ``creditPolicy`` (decision table, hit policy *first*, 30 rules ``r0`` .. ``r29``);
* ``route`` (switch) into the ``approve`` / ``refer`` / ``decline`` expression nodes, whose keys
  (in the same order) are the graph's output.

``engine.py`` checks it against every line of ``reference-loan-applications.jsonl`` before it
times anything.
"""

from __future__ import annotations

from typing import Any

_HOMEOWNER = ("own", "mortgage")


def _policy(cs: Any, dti: float, lti: float, emp: Any, dq: Any, res: Any) -> tuple[str, str, str]:
    """The ``creditPolicy`` table: first matching rule wins, one ``if`` per rule."""
    if dq >= 3:  # r0
        return "decline", "X", "R01"
    if cs < 500:  # r1
        return "decline", "X", "R02"
    if dti > 0.55:  # r2
        return "decline", "X", "R03"
    if lti > 6:  # r3
        return "decline", "X", "R04"
    if cs < 650 and emp < 0.5:  # r4
        return "decline", "X", "R05"
    if cs >= 780:
        if dti <= 0.3 and lti <= 3 and dq == 0:  # r5
            return "approve", "A1", "OK"
        if dti <= 0.4 and lti <= 4 and dq == 0:  # r6
            return "approve", "A2", "OK"
        if dti <= 0.45 and dq <= 1:  # r7
            return "approve", "A3", "OK"
        return "decline", "X", "R08"  # r29 (no r8..r28 row covers >= 780)
    if 740 <= cs <= 779:
        if dti <= 0.3 and lti <= 3 and emp >= 2 and dq == 0:  # r8
            return "approve", "A1", "OK"
        if dti <= 0.4 and lti <= 4 and emp >= 1:  # r9
            return "approve", "A2", "OK"
        if dti <= 0.45 and res in _HOMEOWNER:  # r10
            return "approve", "A3", "OK"
        return "refer", "B1", "F01"  # r11
    if 700 <= cs <= 739:
        if dti <= 0.3 and lti <= 3 and emp >= 3 and dq == 0 and res in _HOMEOWNER:  # r12
            return "approve", "A2", "OK"
        if dti <= 0.35 and lti <= 3.5 and emp >= 2 and dq == 0:  # r13
            return "approve", "A3", "OK"
        if dti <= 0.4 and lti <= 4 and dq <= 1:  # r14
            return "approve", "B1", "OK"
        if dti <= 0.45 and res in _HOMEOWNER:  # r15
            return "refer", "B2", "F02"
        return "refer", "B3", "F03"  # r16
    if 660 <= cs <= 699:
        if dti <= 0.3 and lti <= 2.5 and emp >= 5 and dq == 0 and res in _HOMEOWNER:  # r17
            return "approve", "B1", "OK"
        if dti <= 0.35 and lti <= 3 and emp >= 3 and dq == 0:  # r18
            return "approve", "B2", "OK"
        if dti <= 0.4 and lti <= 3.5 and dq <= 1:  # r19
            return "approve", "C1", "OK"
        if dti <= 0.45 and emp >= 2:  # r20
            return "refer", "C1", "F04"
        if res == "rent":  # r21
            return "refer", "C2", "F05"
        return "decline", "X", "R06"  # r22
    if 600 <= cs <= 659:
        if dti <= 0.3 and lti <= 2 and emp >= 5 and dq == 0 and res in _HOMEOWNER:  # r23
            return "approve", "C2", "OK"
        if dti <= 0.35 and lti <= 2.5 and emp >= 3 and dq == 0:  # r24
            return "refer", "C2", "F06"
        if dti <= 0.4 and dq <= 1 and res in _HOMEOWNER:  # r25
            return "refer", "C3", "F07"
        if emp >= 10:  # r26
            return "refer", "C3", "F08"
        return "decline", "X", "R07"  # r27
    if (  # r28
        500 <= cs <= 599 and dti <= 0.25 and lti <= 1.5 and emp >= 5 and dq == 0 and res == "own"
    ):
        return "refer", "D1", "F09"
    return "decline", "X", "R08"  # r29


def decide(rec: dict[str, Any]) -> dict[str, Any]:
    """Evaluate the reference loan policy on one application.

    Parameters
    ----------
    rec : dict
        The nine input fields (``creditScore``, ``monthlyIncome``, ``monthlyDebt``,
        ``loanAmount``, ``termMonths``, ``employmentYears``, ``delinquencies24m``,
        ``residentialStatus``; ``applicantId`` is ignored).

    Returns
    -------
    dict
        Exactly the keys the JDM graph returns: ``apr`` (approve only), ``queue`` (refer only),
        ``approvedAmount``, ``decision``, ``riskGrade``, ``reasonCode``.
    """
    # derive
    loan = rec["loanAmount"]
    income = rec["monthlyIncome"]
    cs = rec["creditScore"]
    payment = loan * 0.0075 / (1 - 1.0075 ** (-rec["termMonths"]))
    dti = (rec["monthlyDebt"] + payment) / income
    lti = loan / (income * 12)
    # creditPolicy
    decision, grade, reason = _policy(
        cs, dti, lti, rec["employmentYears"], rec["delinquencies24m"], rec["residentialStatus"]
    )
    # route -> approve / refer / decline
    if decision == "approve":
        return {
            "apr": 0.05 + (850 - cs) * 0.0002 + dti * 0.05,
            "approvedAmount": min(loan, income * 12 * 4),
            "decision": decision,
            "riskGrade": grade,
            "reasonCode": reason,
        }
    if decision == "refer":
        return {
            "queue": "senior_underwriter" if dti > 0.4 else "underwriter",
            "approvedAmount": 0,
            "decision": decision,
            "riskGrade": grade,
            "reasonCode": reason,
        }
    return {"approvedAmount": 0, "decision": decision, "riskGrade": grade, "reasonCode": reason}
