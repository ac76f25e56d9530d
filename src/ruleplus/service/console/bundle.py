"""The console's built web app (``console/`` sources, built by ``make console`` into the
package's ``console_bundle`` folder and shipped in the wheel), served at ``/console``.

Without a bundle the console answers 503 with a page saying how to build it, rather than a
blank page. The app routes with the URL fragment, so only ``index.html`` and ``assets/`` exist.
"""

from __future__ import annotations

import mimetypes
from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

__all__ = ["BUNDLE_DIR", "bundle_router"]

BUNDLE_DIR = Path(str(resources.files("ruleplus").joinpath("console_bundle")))
"""Where the built web app lives (package data)."""

_HEADERS = {
    # the app loads nothing from elsewhere; images the identity page shows are data:/blob: URLs
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "style-src 'self' 'unsafe-inline'; media-src 'self' blob:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

_MISSING = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>ruleplus console not built</title></head><body style="font-family:sans-serif">
<h1>The ruleplus console is not built</h1>
<p>This installation has no console bundle (<code>{path}</code>). From a source checkout run
<code>make console</code> (Node 20 and npm), or install a ruleplus wheel, which ships it.</p>
<p>控制台尚未构建：请在源码目录运行 <code>make console</code>。</p>
<p>The decision API (<code>/v1/...</code>) works without it.</p></body></html>"""


def _missing() -> HTMLResponse:
    return HTMLResponse(_MISSING.format(path=BUNDLE_DIR), status_code=503, headers=_HEADERS)


def bundle_router(root: Path | None = None) -> APIRouter:
    """Routes serving the bundle under ``root`` (default :data:`BUNDLE_DIR`)."""
    base = (root or BUNDLE_DIR).resolve()
    router = APIRouter(include_in_schema=False)

    @router.get("/console")
    def console_root() -> Response:
        return RedirectResponse("/console/", status_code=307)

    @router.get("/console/")
    def index() -> Response:
        page = base / "index.html"
        if not page.is_file():
            return _missing()
        return FileResponse(page, headers={**_HEADERS, "Cache-Control": "no-cache"})

    @router.get("/console/assets/{name}")
    def asset(name: str) -> Response:
        target = (base / "assets" / name).resolve()
        if target.parent != base / "assets" or not target.is_file():
            if not (base / "index.html").is_file():
                return _missing()
            return Response("not found", status_code=404, media_type="text/plain")
        media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        # file names carry a content hash (Vite): cache them for good
        headers = {**_HEADERS, "Cache-Control": "public, max-age=31536000, immutable"}
        return FileResponse(target, media_type=media, headers=headers)

    return router
