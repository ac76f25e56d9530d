"""``ruleplus face …`` (verify, liveness, evaluation) and ``ruleplus models …`` (install, list).

Parsing and printing only; the work is in :mod:`ruleplus.identity`. Face dependencies are
imported inside the commands, so the CLI starts without the ``face`` extra.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ruleplus.errors import RuleplusError

if TYPE_CHECKING:
    from ruleplus.identity.engine import IdentityEngine

__all__ = ["app", "models_app"]

app = typer.Typer(no_args_is_help=True, help="Face identity: verify, liveness, evaluation.")
models_app = typer.Typer(no_args_is_help=True, help="Model files: install and list.")
out = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
ModelDirOpt = Annotated[
    Path | None, typer.Option("--model-dir", help="model directory (default RULEPLUS_MODEL_DIR)")
]
RuntimeOpt = Annotated[
    str, typer.Option("--liveness-runtime", help="torch, onnx (exported files) or none")
]


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _fail(exc: Exception, as_json: bool) -> None:
    if isinstance(exc, RuleplusError):
        payload = exc.to_dict()
    else:  # a missing optional dependency
        payload = {
            "type": type(exc).__name__,
            "code": "dependency_missing",
            "message": f"{exc}; install the face extra: pip install 'ruleplus[face]'",
        }
    if as_json:
        print(json.dumps({"error": payload}, ensure_ascii=False, default=str))
    else:
        err.print(
            f"[red]error:[/red] {payload.get('message')} ({payload.get('code', '')})",
            highlight=False,
        )
    raise typer.Exit(2)


def _engine(model_dir: Path | None, runtime: str = "torch", enhance: bool = True) -> IdentityEngine:
    from ruleplus.identity.engine import IdentityEngine

    if runtime not in ("torch", "onnx", "none"):
        raise typer.BadParameter("--liveness-runtime must be torch, onnx or none")
    return IdentityEngine.from_models(
        model_dir,
        liveness=runtime,  # type: ignore[arg-type]
        enhance=enhance,
    )


@app.command()
def verify(
    selfie: Annotated[Path, typer.Argument(help="selfie image")],
    id_photo: Annotated[Path, typer.Argument(help="ID photo image")],
    as_json: JsonOpt = False,
    no_liveness: Annotated[bool, typer.Option("--no-liveness", help="skip liveness")] = False,
    allow_multiple: Annotated[
        bool, typer.Option("--allow-multiple-faces", help="use the largest of several faces")
    ] = False,
    no_enhance: Annotated[bool, typer.Option("--no-enhance", help="never enhance")] = False,
    model_dir: ModelDirOpt = None,
    runtime: RuntimeOpt = "torch",
) -> None:
    """Compare a selfie with an ID photo: match, similarity, threshold, liveness, quality."""
    try:
        engine = _engine(model_dir, runtime, not no_enhance)
        result = engine.verify(
            selfie,
            id_photo,
            check_liveness=not no_liveness,
            multiple="largest" if allow_multiple else "error",
        )
    except (RuleplusError, ImportError) as exc:
        _fail(exc, as_json)
        return
    data = result.to_dict()
    if as_json:
        _print_json(data)
        return
    colour = "green" if result.match else "red"
    out.print(
        f"[{colour}]{'match' if result.match else 'no match'}[/{colour}]  similarity "
        f"{data['similarity']:.3f} (threshold {data['threshold']:.3f}), decision "
        f"{result.decision}"
    )
    if result.liveness:
        out.print(
            f"liveness {result.liveness.score:.3f} → {'live' if result.liveness.live else 'spoof'}"
        )
    if result.reasons:
        out.print("reasons: " + ", ".join(result.reasons))


@app.command()
def liveness(
    image: Annotated[Path, typer.Argument(help="image with one face")],
    as_json: JsonOpt = False,
    allow_multiple: Annotated[
        bool, typer.Option("--allow-multiple-faces", help="use the largest of several faces")
    ] = False,
    model_dir: ModelDirOpt = None,
    runtime: RuntimeOpt = "torch",
) -> None:
    """Passive liveness (MiniFASNetV2 + V1SE fused): score, live, quality."""
    try:
        engine = _engine(model_dir, runtime)
        analysis = engine.liveness(image, multiple="largest" if allow_multiple else "error")
    except (RuleplusError, ImportError) as exc:
        _fail(exc, as_json)
        return
    assert analysis.liveness is not None
    data = {
        **analysis.liveness.to_dict(),
        "quality": analysis.quality.to_dict(),
        "face": analysis.summary()["face"],
        "reasons": ([] if analysis.liveness.live else ["liveness.spoof"])
        + analysis.quality.reasons,
    }
    if as_json:
        _print_json(data)
    else:
        out.print(
            f"score {data['score']:.3f} (threshold {data['threshold']}) → "
            f"{'live' if data['live'] else 'spoof'}"
        )


DegradeOpt = Annotated[
    str | None,
    typer.Option(
        "--degrade",
        help="apply a synthetic degradation (ruleplus.identity.degrade): "
        "blur, noise, low_light, backlight, motion_blur, jpeg, low_resolution, "
        "strong_light, rain, haze, colour_cast, tilt, crowd",
    ),
]


def _degrader(name: str | None, strength: float) -> Any:
    if not name:
        return None
    from ruleplus.identity.degrade import ALL_DEGRADATIONS

    if name not in ALL_DEGRADATIONS:
        raise typer.BadParameter(f"--degrade must be one of {', '.join(ALL_DEGRADATIONS)}")
    fn = ALL_DEGRADATIONS[name]
    return lambda image, file_name: fn(image, strength, seed=_stable_seed(file_name))


def _stable_seed(name: str) -> int:
    """A per-file seed that is the same in every run (Python's ``hash`` is salted)."""
    import zlib

    return zlib.crc32(name.encode("utf-8")) & 0xFFFF


@app.command("eval-pairs")
def eval_pairs(
    pairs: Annotated[Path, typer.Argument(help="CSV: file_x,file_y,Decision (Yes/No)")],
    images: Annotated[Path, typer.Option("--images", help="folder holding the images")],
    as_json: JsonOpt = False,
    no_enhance: Annotated[bool, typer.Option("--no-enhance", help="never enhance")] = False,
    degrade: DegradeOpt = None,
    strength: Annotated[float, typer.Option("--strength", help="degradation strength")] = 1.0,
    details: Annotated[
        bool, typer.Option("--details", help="add every pair's distance and the separability")
    ] = False,
    html_path: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="also write an HTML report (distance histograms, FAR/FRR "
            "against the threshold, the pairs decided wrongly)",
        ),
    ] = None,
    model_dir: ModelDirOpt = None,
) -> None:
    """Accuracy, FAR, FRR, FTA of 1:1 verification at the fixed threshold on labelled pairs."""
    from ruleplus.identity.evaluate import evaluate_pairs
    from ruleplus.identity.report import render_pairs_report

    try:
        engine = _engine(model_dir, "none", not no_enhance)
        report = evaluate_pairs(
            engine, pairs, images, _degrader(degrade, strength), details or html_path is not None
        )
        if html_path is not None:
            title = f"1:1 verification — {pairs.name}" + (
                f" ({degrade} × {strength:g})" if degrade else ""
            )
            html_path.write_text(render_pairs_report(report, title), encoding="utf-8")
            if not details:
                report = {k: v for k, v in report.items() if k not in ("pairs", "separability")}
    except (RuleplusError, ImportError, OSError) as exc:
        _fail(exc if not isinstance(exc, OSError) else RuleplusError(str(exc)), as_json)
        return
    if as_json:
        _print_json(report)
        return
    table = Table(title=f"pairs: {pairs.name}")
    for key in ("n", "accuracy", "far", "frr", "fta", "threshold", "median_ms"):
        table.add_column(key)
    table.add_row(
        *(
            f"{report[k]:.4g}" if isinstance(report[k], float) else str(report[k])
            for k in ("n", "accuracy", "far", "frr", "fta", "threshold", "median_ms")
        )
    )
    out.print(table)


@app.command()
def dedupe(
    folder: Annotated[Path, typer.Argument(help="folder of photos (one application each)")],
    as_json: JsonOpt = False,
    model_dir: ModelDirOpt = None,
) -> None:
    """Groups of photos in FOLDER that show the same person (duplicate applications)."""
    from rich.progress import Progress

    from ruleplus.identity.dedupe import find_duplicates, image_files

    try:
        if not folder.is_dir():
            raise RuleplusError(f"{folder} is not a folder")
        photos = image_files(folder)
        engine = _engine(model_dir, "none")
        with Progress(console=err, transient=True, disable=as_json) as bar:
            task = bar.add_task("embedding", total=len(photos))
            report = find_duplicates(engine, photos, lambda done: bar.update(task, completed=done))
    except (RuleplusError, ImportError, OSError) as exc:
        _fail(exc if not isinstance(exc, OSError) else RuleplusError(str(exc)), as_json)
        return
    if as_json:
        _print_json(report)
        return
    out.print(
        f"{report['embedded']} of {report['n']} photos embedded; "
        f"{len(report['groups'])} group(s) at similarity ≥ {report['threshold']:.2f}"
    )
    for group in report["groups"]:
        out.print(f"  {', '.join(group['files'])}  (weakest link {group['min_similarity']})")
    for failure in report["failures"]:
        out.print(f"  [yellow]{failure['file']}[/yellow]: {failure['code']}")


@app.command("eval-liveness")
def eval_liveness(
    directory: Annotated[Path, typer.Argument(help="folder of images with a label file")],
    as_json: JsonOpt = False,
    degrade: DegradeOpt = None,
    strength: Annotated[float, typer.Option("--strength", help="degradation strength")] = 1.0,
    model_dir: ModelDirOpt = None,
    runtime: RuntimeOpt = "torch",
) -> None:
    """APCER, BPCER, ACER (ISO/IEC 30107-3) of passive liveness on a labelled folder."""
    from ruleplus.identity.evaluate import evaluate_liveness

    try:
        engine = _engine(model_dir, runtime, enhance=False)
        report = evaluate_liveness(engine, directory, _degrader(degrade, strength))
    except (RuleplusError, ImportError, OSError) as exc:
        _fail(exc if not isinstance(exc, OSError) else RuleplusError(str(exc)), as_json)
        return
    if as_json:
        _print_json(report)
        return
    table = Table(title=f"liveness: {directory}")
    for key in ("file", "label", "score", "live", "error"):
        table.add_column(key)
    for item in report["items"]:
        table.add_row(*(str(item[k]) for k in ("file", "label", "score", "live", "error")))
    out.print(table)
    out.print(
        f"APCER {report['apcer']:.3f}  BPCER {report['bpcer']:.3f}  "
        f"ACER {report['acer']:.3f}  (n={report['n']})"
    )


@app.command("export-onnx")
def export_onnx(
    target: Annotated[Path, typer.Argument(help="folder for the ONNX files")],
    model_dir: ModelDirOpt = None,
) -> None:
    """Export the MiniFASNets and the face-embedding ResNet to ONNX.

    With the files in the model directory, ``--liveness-runtime onnx`` runs liveness without
    torch, and the embedding runs on ONNX Runtime (the fastest of its three runtimes).
    """
    from ruleplus.identity import liveness as live
    from ruleplus.identity import weights as m
    from ruleplus.identity.embed import export_embedder_onnx

    try:
        directory = m.model_dir() if model_dir is None else model_dir
        runtime = live.TorchLiveness(
            m.resolve_model(m.FAS_V2, directory), m.resolve_model(m.FAS_V1SE, directory)
        )
        for path in live.export_onnx(runtime, target):
            out.print(str(path))
        out.print(str(export_embedder_onnx(m.resolve_model(m.DLIB_RESNET, directory), target)))
    except (RuleplusError, ImportError) as exc:
        _fail(exc, False)


@models_app.command("install")
def models_install(
    from_dir: Annotated[
        Path | None, typer.Option("--from", help="copy from this folder instead of downloading")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="download from this mirror instead")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="reinstall present files")] = False,
    model_dir: ModelDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Download (or copy) the model files into the model directory, verifying each sha256."""
    from ruleplus.identity.weights import install_models

    try:
        report = install_models(model_dir, from_dir=from_dir, base_url=base_url, force=force)
    except (RuleplusError, ImportError) as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _print_json(report)
    else:
        for row in report:
            out.print(f"{row['status']:9s} {row['name']}  ({row['source']})")


@models_app.command("list")
def models_list(model_dir: ModelDirOpt = None, as_json: JsonOpt = False) -> None:
    """Show each model file, where it is and whether its checksum matches."""
    from ruleplus.identity.weights import model_status

    rows = model_status(model_dir)
    if as_json:
        _print_json(rows)
        return
    table = Table(title="models")
    for key in ("name", "installed", "verified", "purpose", "licence"):
        table.add_column(key)
    for row in rows:
        table.add_row(
            *(str(row[k]) for k in ("name", "installed", "verified", "purpose", "licence"))
        )
    out.print(table)
