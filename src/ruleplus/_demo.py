"""The demo run by ``make run``: the reference strategy on sample and synthetic applications."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ruleplus.datasets import synth_applications
from ruleplus.decision import CompiledStrategy, load_strategy

__all__ = ["example_strategy_path", "run_demo"]


def example_strategy_path(name: str = "reference_loan.yaml") -> Path:
    """Path of an example strategy (from the source tree, else the installed package data)."""
    repo = Path(__file__).resolve().parents[2] / "examples" / "strategies" / name
    if repo.is_file():
        return repo
    return Path(str(resources.files("ruleplus").joinpath("examples", name)))


def run_demo(console: Console, rows: int = 200_000) -> CompiledStrategy:
    """Decide a few applications with reasons and a trace, then a vectorised batch."""
    path = example_strategy_path()
    strategy = load_strategy(path)
    console.rule(f"[bold]ruleplus demo[/bold] — strategy {strategy.id} {strategy.version}")
    sample = synth_applications(8, seed=7).to_dicts()
    table = Table(
        "applicant",
        "score",
        "income",
        "amount",
        "term",
        "decision",
        "grade",
        "amount approved",
        "reason",
    )
    for record in sample:
        decision = strategy.evaluate(record)
        reason = decision.reasons[0] if decision.reasons else None
        table.add_row(
            record["applicantId"],
            str(record["creditScore"]),
            f"{record['monthlyIncome']:,}",
            f"{record['loanAmount']:,}",
            str(record["termMonths"]),
            str(decision.decision),
            str(decision.outputs.get("riskGrade")),
            f"{decision.outputs.get('approvedAmount', 0):,}",
            f"{reason.code} {reason.text_en}" if reason else "",
        )
    console.print(table)
    traced = strategy.evaluate(sample[0], trace=True)
    console.print("[bold]trace of the first application[/bold]")
    for step in traced.trace or []:
        console.print(
            f"  {step.node:<8} {step.type:<10} matched={step.detail!s:<10} outputs={step.outputs}"
        )
    frame = synth_applications(rows, seed=1)
    started = time.perf_counter()
    result = strategy.evaluate_frame(frame)
    seconds = time.perf_counter() - started
    counts = result.get_column("decision").value_counts(sort=True)
    console.print(
        f"[bold]batch[/bold]: {rows:,} synthetic applications decided in {seconds:.2f}s "
        f"({rows / seconds:,.0f} decisions/s, vectorised)"
    )
    for value, count in counts.iter_rows():
        console.print(f"  {value:<8} {count:>9,}  {count / rows:6.1%}")
    return strategy
