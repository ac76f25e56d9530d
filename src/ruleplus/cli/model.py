"""``ruleplus model``: fit, evaluate and report credit models. Parsing and printing only.

Mount with ``app.add_typer(model_app, name="model")``; the work is done by
:mod:`ruleplus.modeling.workflow`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ruleplus.errors import RuleplusError

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Model factory: fit a scorecard or a GBM, evaluate it, write a validation report.",
)

_out = Console()
_err = Console(stderr=True)

_KINDS = ("scorecard", "gbm")


def _fail(exc: RuleplusError, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"error": exc.to_dict()}, ensure_ascii=False, default=str))
    else:
        _err.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
    raise typer.Exit(2)


def _bad_value(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _metrics_table(rows: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="metrics")
    for col in ("sample", "rows", "bad rate", "AUC", "Gini", "KS", "PSI"):
        table.add_column(col, justify="right" if col != "sample" else "left")
    for name, m in rows.items():
        psi = m.get("psi")
        table.add_row(
            name,
            f"{m['n']:,}",
            f"{m['bad_rate']:.4f}",
            f"{m['auc']:.4f}",
            f"{m['gini']:.4f}",
            f"{m['ks']:.4f}",
            f"{psi:.4f}" if psi is not None else "",
        )
    return table


@app.command()
def fit(
    data: Annotated[Path, typer.Argument(help="training table: CSV, zipped CSV, Parquet, JSONL")],
    target: Annotated[str, typer.Option("--target", help="target column (1 / 'bad' = bad)")],
    out: Annotated[Path, typer.Option("--out", help="artifact directory to write")],
    kind: Annotated[str, typer.Option("--kind", help="scorecard or gbm")] = "scorecard",
    time_col: Annotated[
        str | None, typer.Option("--time-col", help="date column for an out-of-time split")
    ] = None,
    oot_from: Annotated[
        str | None, typer.Option("--oot-from", help="rows from this date on are the test set")
    ] = None,
    test_size: Annotated[float, typer.Option("--test-size", help="test share")] = 0.3,
    seed: Annotated[int, typer.Option("--seed", help="seed of the random split")] = 42,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="column not to use (repeatable)")
    ] = None,
    bad: Annotated[
        str | None, typer.Option("--bad", help="target value meaning bad (default: 1 / 'bad')")
    ] = None,
    select: Annotated[
        bool,
        typer.Option("--select", help="scorecard: select features (IV, correlation), check signs"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the metadata as JSON")] = False,
) -> None:
    """Fit a scorecard or a GBM and write its artifact directory."""
    from ruleplus.modeling.workflow import fit_artifact

    if kind not in _KINDS:
        _err.print(f"[red]error:[/red] --kind must be one of {', '.join(_KINDS)}")
        raise typer.Exit(2)
    if oot_from is not None and time_col is None:
        _err.print("[red]error:[/red] --oot-from needs --time-col")
        raise typer.Exit(2)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
        disable=as_json,
    )
    try:
        with progress:
            task = progress.add_task("starting", total=None)

            def step(name: str) -> None:
                progress.update(task, description=name)

            meta = fit_artifact(
                data,
                target,
                kind,
                out,
                time_col=time_col,
                oot_from=oot_from,
                test_size=test_size,
                seed=seed,
                exclude=tuple(exclude or ()),
                bad=_bad_value(bad),
                select=select,
                progress=step,
            )
    except RuleplusError as exc:
        _fail(exc, as_json)
        return
    if as_json:
        print(json.dumps(meta, ensure_ascii=False, indent=2, default=str))
        return
    _out.print(f"[green]wrote[/green] {out} ({kind}, {len(meta.get('features', []))} features)")
    _out.print(_metrics_table(meta["metrics"]))
    for column, why in (meta.get("dropped") or {}).items():
        _out.print(f"[yellow]left out[/yellow] {column}: {why}", highlight=False)


@app.command()
def evaluate(
    artifact: Annotated[Path, typer.Argument(help="artifact directory from 'model fit'")],
    data: Annotated[Path, typer.Argument(help="labelled table to score")],
    target: Annotated[str, typer.Option("--target", help="target column")],
    bad: Annotated[str | None, typer.Option("--bad", help="target value meaning bad")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Measure a fitted model on a table: AUC, Gini, KS, rows, bad rate, PSI."""
    from ruleplus.modeling.workflow import evaluate_artifact

    try:
        result = evaluate_artifact(artifact, data, target, bad=_bad_value(bad))
    except RuleplusError as exc:
        _fail(exc, as_json)
        return
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return
    _out.print(_metrics_table({str(data): result}))


@app.command()
def report(
    artifact: Annotated[Path, typer.Argument(help="artifact directory from 'model fit'")],
    data: Annotated[Path, typer.Argument(help="labelled table to validate on")],
    target: Annotated[str, typer.Option("--target", help="target column")],
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")] = Path(
        "report.html"
    ),
    bad: Annotated[str | None, typer.Option("--bad", help="target value meaning bad")] = None,
) -> None:
    """Write a self-contained HTML validation report (bins, ROC, KS, PSI, gains…)."""
    from ruleplus.modeling.workflow import report_artifact

    try:
        with _err.status("building the report"):
            path = report_artifact(artifact, data, target, output, bad=_bad_value(bad))
    except RuleplusError as exc:
        _fail(exc, False)
        return
    _out.print(f"[green]wrote[/green] {path}")
