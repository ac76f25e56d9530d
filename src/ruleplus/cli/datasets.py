"""``ruleplus datasets …``: example data sets."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, cast

import typer

from ruleplus.cli._common import err, fail
from ruleplus.errors import RuleplusError

__all__ = ["datasets_app"]

datasets_app = typer.Typer(no_args_is_help=True, help="Example data sets.")


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
        fail(exc, False)
        return
    elapsed = time.perf_counter() - started
    # polars types Series.mean() as any Python scalar; the mean of the int64 column is a float
    bad_rate = cast(float, frame.get_column("defaulted").mean())
    err.print(
        f"wrote {frame.height:,} applications to {output} in {elapsed:.2f}s "
        f"(bad rate {bad_rate:.1%})"
    )
