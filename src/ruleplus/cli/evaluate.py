"""Commands on a strategy file, no service: validate, decide, batch, schema, functions.

They are registered on the root application by :mod:`ruleplus.cli`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ruleplus.cli._common import err, fail, load_strategy_file, out, print_json, row_progress
from ruleplus.errors import RuleplusError

__all__ = ["app"]

app = typer.Typer()


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
        compiled = load_strategy_file(strategy)
    except RuleplusError as exc:
        fail(exc, as_json)
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
        print_json(info)
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
        compiled = load_strategy_file(strategy)
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
        print_json(compiled.evaluate(record, trace=trace).to_dict())
    except OSError as exc:
        from ruleplus.errors import DataError

        fail(DataError(f"cannot read input: {exc.strerror}", file=input_file), True)
    except RuleplusError as exc:
        fail(exc, True)


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
    from ruleplus.batch import decide_table

    try:
        compiled = load_strategy_file(strategy)
        with row_progress(not as_json) as progress:
            summary = decide_table(
                compiled,
                source,
                target,
                reasons=reasons,
                keep=tuple(keep or ()),
                input_field=input_field,
                keep_nulls=keep_nulls,
                progress=progress,
            )
    except RuleplusError as exc:
        fail(exc, as_json)
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
        print_json(info)
    else:
        err.print(
            f"{summary.rows:,} rows in {summary.seconds:.2f}s -> {target} "
            f"({summary.errors:,} with errors); decisions: {summary.decisions}"
        )


@app.command()
def schema() -> None:
    """Print the JSON Schema of strategy documents."""
    from ruleplus.decision import strategy_json_schema

    print_json(strategy_json_schema())


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
