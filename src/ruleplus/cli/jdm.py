"""``ruleplus import jdm`` and ``ruleplus conformance jdm``: GoRules JDM decision graphs."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ruleplus.cli._common import JsonFlag, emit, err, out, print_json, read_text, run
from ruleplus.errors import DataError

__all__ = ["conformance_app", "import_app"]

import_app = typer.Typer(no_args_is_help=True, help="Import decision logic from other engines.")
conformance_app = typer.Typer(
    no_args_is_help=True, help="Run other engines' conformance suites against ruleplus."
)


@import_app.command("jdm")
def import_jdm(
    graph: Path,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="strategy YAML to write (default: stdout)")
    ] = None,
    decide: Annotated[
        str | None,
        typer.Option(
            "--decide",
            help="instead of translating, run the graph natively (zen's semantics, any node "
            "kind) on this input JSON file ('-' = stdin) and print {result, trace}",
        ),
    ] = None,
    trace: Annotated[bool, typer.Option("--trace", help="with --decide: per-node trace")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Translate a GoRules JDM graph (JSON) into an editable ruleplus strategy (YAML)."""
    from ruleplus.decision import compile_strategy
    from ruleplus.decision.importers.jdm import jdm_to_strategy, load_jdm, strategy_yaml

    if decide is not None:

        def evaluate() -> dict[str, object]:
            text = sys.stdin.read() if decide == "-" else read_text(Path(decide))
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise DataError(f"{decide} is not JSON: {exc}", file=decide) from None
            return load_jdm(graph).evaluate(data, trace=trace)

        print_json(run(evaluate, as_json))
        return

    def translate() -> tuple[str, dict[str, object]]:
        try:
            document = json.loads(read_text(graph))
        except ValueError as exc:
            raise DataError(f"{graph} is not JSON: {exc}", file=str(graph)) from None
        name = graph.name.removesuffix(".json").removesuffix(".jdm")
        strategy = jdm_to_strategy(document, name=name)
        text = strategy_yaml(strategy, graph.name)
        compiled = compile_strategy(text, name=name)  # the YAML written is one that compiles
        return text, {
            "graph": str(graph),
            "strategy": strategy["id"],
            "nodes": len(strategy["nodes"]),
            "inputs": compiled.input_fields,
            "outputs": compiled.outputs,
            "written": str(output) if output else None,
        }

    text, info = run(translate, as_json)
    if output is None:
        if as_json:
            print_json({**info, "yaml": text})
        else:
            print(text, end="")
        return
    output.write_text(text, encoding="utf-8")
    emit(info, as_json, f"wrote {output}: strategy {info['strategy']}, {info['nodes']} nodes")


@conformance_app.command("jdm")
def conformance_jdm(
    suite: Annotated[Path, typer.Option("--suite", help="folder of JDM graphs with tests")],
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="pin date('now') to this ISO time or Unix timestamp (replay recorded tests)",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run every test embedded in the suite's graphs; print passed, failed, total, failures."""
    from ruleplus.decision.importers.jdm import run_suite

    def go() -> dict[str, object]:
        if not suite.is_dir():
            raise DataError(f"{suite} is not a folder", file=str(suite))
        return run_suite(suite, now=_moment(now) if now else None).to_dict()

    report = run(go, as_json)
    if as_json:
        print_json(report)
        return
    for failure in report["failures"]:  # type: ignore[attr-defined]
        err.print(
            f"[red]FAIL[/red] {failure['graph']} test {failure['test']}: expected "
            f"{json.dumps(failure['expected'])[:200]} got {json.dumps(failure['got'])[:200]}",
            highlight=False,
        )
    out.print(f"{report['passed']} passed, {report['failed']} failed, {report['total']} total")


def _moment(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(float(text), dt.UTC)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"expected an ISO time or a timestamp, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
