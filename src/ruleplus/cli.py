"""The ``ruleplus`` command line (typer + rich). Parsing and printing only: no business logic."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ruleplus.errors import RuleplusError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="ruleplus: consumer-finance decisioning (rules plus models).",
)
datasets_app = typer.Typer(no_args_is_help=True, help="Example data sets.")
app.add_typer(datasets_app, name="datasets")

out = Console()
err = Console(stderr=True)


def _fail(exc: RuleplusError, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"error": exc.to_dict()}, ensure_ascii=False, default=str))
    else:
        err.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
    raise typer.Exit(2)


def _json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _load(path: Path) -> Any:
    from ruleplus.decision import load_strategy

    return load_strategy(path)


@app.command()
def validate(
    strategy: Annotated[Path, typer.Argument(help="strategy file (.yaml/.json)")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    show_code: Annotated[
        bool, typer.Option("--show-code", help="print the generated row program")
    ] = False,
) -> None:
    """Check a strategy: schema, flow, types, table analysis."""
    try:
        compiled = _load(strategy)
    except RuleplusError as exc:
        _fail(exc, as_json)
        return
    info = {
        "valid": True,
        "id": compiled.id,
        "version": compiled.version,
        "inputs": compiled.input_fields,
        "outputs": compiled.outputs,
        "warnings": compiled.warnings,
    }
    if as_json:
        _json(info)
    else:
        out.print(
            f"[green]ok[/green] {compiled.id} {compiled.version}: "
            f"{len(compiled.input_fields)} inputs, outputs {', '.join(compiled.outputs)}"
        )
        for warning in compiled.warnings:
            out.print(f"[yellow]warning:[/yellow] {warning}")
    if show_code:
        out.print(compiled.generated_source, highlight=False, markup=False)


@app.command()
def decide(
    strategy: Annotated[Path, typer.Argument(help="strategy file")],
    input_file: Annotated[
        str, typer.Argument(metavar="INPUT.json", help="one application as JSON ('-' = stdin)")
    ],
    trace: Annotated[bool, typer.Option("--trace", help="include the per-node trace")] = False,
) -> None:
    """Decide one application; prints the decision as JSON."""
    try:
        compiled = _load(strategy)
        text = (
            sys.stdin.read() if input_file == "-" else Path(input_file).read_text(encoding="utf-8")
        )
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            from ruleplus.errors import DataError

            raise DataError(
                f"not valid JSON: {exc.msg}", file=input_file, line=exc.lineno
            ) from None
        if not isinstance(record, dict):
            from ruleplus.errors import DataError

            raise DataError("the input must be one JSON object", file=input_file)
        _json(compiled.evaluate(record, trace=trace).to_dict())
    except OSError as exc:
        from ruleplus.errors import DataError

        _fail(DataError(f"cannot read input: {exc.strerror}", file=input_file), True)
    except RuleplusError as exc:
        _fail(exc, True)


@app.command()
def batch(
    strategy: Annotated[Path, typer.Argument(help="strategy file")],
    source: Annotated[
        Path, typer.Argument(metavar="IN", help="CSV, zipped CSV, JSONL, JSON or Parquet")
    ],
    target: Annotated[
        Path, typer.Argument(metavar="OUT", help="output table (format from extension)")
    ],
    reasons: Annotated[bool, typer.Option("--reasons", help="add reason codes and arm")] = False,
    keep: Annotated[
        list[str] | None, typer.Option("--keep", help="input column copied to the output")
    ] = None,
    input_field: Annotated[
        str | None, typer.Option("--input-field", help="column holding the inputs as objects")
    ] = None,
    keep_nulls: Annotated[
        bool, typer.Option("--keep-nulls", help="JSONL: write null outputs")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Decide every row of a table (vectorised); bad rows keep their reason in ``_error``."""
    from ruleplus._batch import decide_table

    try:
        compiled = _load(strategy)
        with Progress(
            TextColumn("[bold]deciding"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,} rows"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=as_json,
        ) as bar:
            task = bar.add_task("rows", total=0)
            summary = decide_table(
                compiled,
                source,
                target,
                reasons=reasons,
                keep=tuple(keep or ()),
                input_field=input_field,
                keep_nulls=keep_nulls,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except RuleplusError as exc:
        _fail(exc, as_json)
        return
    info = {
        "rows": summary.rows,
        "errors": summary.errors,
        "seconds": round(summary.seconds, 3),
        "rows_per_s": round(summary.rows / summary.seconds) if summary.seconds else None,
        "decisions": summary.decisions,
        "output": str(target),
    }
    if as_json:
        _json(info)
    else:
        err.print(
            f"{summary.rows:,} rows in {summary.seconds:.2f}s -> {target} "
            f"({summary.errors:,} with errors); decisions: {summary.decisions}"
        )


@app.command()
def schema() -> None:
    """Print the JSON Schema of strategy documents."""
    from ruleplus.decision import strategy_json_schema

    _json(strategy_json_schema())


@app.command()
def functions() -> None:
    """List the functions expressions may call."""
    from ruleplus.expr import FUNCTIONS

    table = Table("function", "arguments", "what it does")
    for spec in FUNCTIONS.values():
        arity = (
            f"{spec.min_args}+"
            if spec.max_args < 0
            else (
                str(spec.min_args)
                if spec.min_args == spec.max_args
                else f"{spec.min_args}-{spec.max_args}"
            )
        )
        table.add_row(spec.name, arity, spec.doc)
    out.print(table)


@datasets_app.command("synth")
def synth(
    rows: Annotated[int, typer.Option("--rows", min=1, help="number of applications")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 0,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="file to write (format from extension)")
    ] = Path("applications.parquet"),
) -> None:
    """Write realistic synthetic consumer-loan applications with a latent default outcome."""
    from ruleplus.datasets import synth_applications, write_table

    try:
        started = time.perf_counter()
        frame = synth_applications(rows, seed=seed)
        write_table(frame, output)
    except RuleplusError as exc:
        _fail(exc, False)
        return
    elapsed = time.perf_counter() - started
    # polars types Series.mean() as any Python scalar; the mean of the int64 column is a float
    bad_rate = cast(float, frame.get_column("defaulted").mean())
    err.print(
        f"wrote {frame.height:,} applications to {output} in {elapsed:.2f}s "
        f"(bad rate {bad_rate:.1%})"
    )


@app.command()
def demo(
    rows: Annotated[
        int, typer.Option("--rows", help="synthetic applications for the batch part")
    ] = 200_000,
) -> None:
    """Run the demo: decide sample applications with the reference strategy, then a batch."""
    from ruleplus._demo import run_demo

    try:
        run_demo(out, rows=rows)
    except RuleplusError as exc:
        _fail(exc, False)


def _mount_groups() -> None:
    """Mount the command groups; a group whose optional extra is missing says what to install."""
    import importlib

    from ruleplus.commands import service as service_commands

    app.command("serve")(service_commands.serve)
    for name, group in (
        ("db", service_commands.db_app),
        ("partners", service_commands.partners_app),
        ("strategies", service_commands.strategies_app),
        ("deployments", service_commands.deployments_app),
        ("mappings", service_commands.mappings_app),
        ("lists", service_commands.lists_app),
        ("audit", service_commands.audit_app),
    ):
        app.add_typer(group, name=name)
    optional = (
        ("model", "ruleplus.commands.model", "app", "ml"),
        ("face", "ruleplus.commands.face", "app", "face"),
        ("models", "ruleplus.commands.face", "models_app", "face"),
    )
    for name, module_name, attribute, extra in optional:
        try:
            group = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            missing = typer.Typer(help=f"(unavailable: needs the {extra!r} extra)")

            @missing.callback(invoke_without_command=True)
            def _unavailable(extra: str = extra, reason: str = str(exc)) -> None:
                err.print(f"[red]error:[/red] this command needs ruleplus[{extra}] ({reason})")
                raise typer.Exit(2)

            app.add_typer(missing, name=name)
            continue
        app.add_typer(group, name=name)


_mount_groups()


def main() -> None:
    """Entry point of the ``ruleplus`` script."""
    app()


if __name__ == "__main__":
    main()
