"""The console in a real headless Chromium against a running service: an analyst edits a table
cell, sees the engine's error on that cell, fixes it, simulates and submits; an approver
publishes it (not the analyst: maker-checker) and deploys it as a challenger; a decision is
opened in the explorer — in Chinese and in English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from console_helpers import PASSWORD, Served

TIMEOUT = 20_000


def sign_in(page: Any, url: str, name: str, lang: str) -> None:
    page.goto(f"{url}/console/")
    page.get_by_test_id("lang").select_option(lang)
    page.get_by_test_id("login-name").fill(name)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("whoami").wait_for(timeout=TIMEOUT)


def sign_out(page: Any) -> None:
    page.get_by_test_id("sign-out").click()
    page.get_by_test_id("login-submit").wait_for(timeout=TIMEOUT)


def test_analyst_edits_simulates_submits_and_approver_publishes_and_deploys(
    served: Served, browser: Any, shots: Path
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(TIMEOUT)
    # a wrong password is refused in the chosen language's page
    page.goto(f"{served.url}/console/")
    page.get_by_test_id("login-name").fill("analyst")
    page.get_by_test_id("login-password").fill("not-the-password")
    page.get_by_test_id("login-submit").click()
    assert "wrong user name or password" in page.get_by_test_id("login-error").inner_text()
    page.screenshot(path=str(shots / "login.png"))

    # -- the analyst, in Chinese ---------------------------------------------------------------
    sign_in(page, served.url, "analyst", "zh")
    assert "策略分析师" in page.get_by_test_id("whoami").inner_text()
    page.get_by_test_id("strategy-reference_loan").wait_for()
    page.screenshot(path=str(shots / "strategies-zh.png"))
    page.get_by_test_id("edit-reference_loan-1.0.0").click()
    page.get_by_test_id("check-ok").wait_for()
    cell = page.get_by_test_id("cell-1-0")  # rule 2, creditScore: "< 500"
    assert cell.input_value() == "< 500"
    cell.fill("< 5x0")
    error = page.get_by_test_id("check-error")
    error.wait_for()
    assert "policy" in error.inner_text() and "第 2 条规则" in error.inner_text()
    assert cell.get_attribute("aria-invalid") == "true"
    page.screenshot(path=str(shots / "table-error-zh.png"))
    cell.fill("< 520")
    page.get_by_test_id("check-ok").wait_for()
    assert page.get_by_test_id("new-version").input_value() == "1.0.1"
    # simulate over the stored decisions against the published version
    page.get_by_test_id("simulate").click()
    page.get_by_test_id("sim-run").click()
    result = page.get_by_test_id("sim-result")
    result.wait_for(timeout=60_000)
    assert "200" in result.inner_text()
    page.get_by_test_id("swap-heatmap").wait_for()
    page.get_by_test_id("sim-result").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "simulation-zh.png"), full_page=True)
    page.get_by_test_id("submit").click()
    notice = page.get_by_test_id("notice")
    notice.wait_for()
    assert "1.0.1" in notice.inner_text() and "等待其他用户审批" in notice.inner_text()
    # the analyst cannot approve: no publish button for them
    page.get_by_test_id("nav-strategies").click()
    page.get_by_test_id("version-reference_loan-1.0.1").wait_for()
    assert page.get_by_test_id("publish-reference_loan-1.0.1").count() == 0
    sign_out(page)

    # -- the approver, in English --------------------------------------------------------------
    sign_in(page, served.url, "approver", "en")
    page.get_by_test_id("diff-reference_loan-1.0.1").click()
    changed = page.locator("[data-testid='diff-table-policy'] td.cell-changed input")
    changed.first.wait_for()
    assert changed.count() == 1 and changed.first.input_value() == "< 520"
    page.screenshot(path=str(shots / "diff-en.png"), full_page=True)
    page.get_by_test_id("nav-strategies").click()
    page.get_by_test_id("publish-reference_loan-1.0.1").click()
    page.get_by_test_id("notice").wait_for()
    row = page.get_by_test_id("version-reference_loan-1.0.1")
    page.wait_for_function(
        "() => document.querySelector(\"[data-testid='version-reference_loan-1.0.1']\")"
        ".innerText.includes('approver')"
    )
    assert "published" in row.inner_text() and "analyst" in row.inner_text()
    # deploy 1.0.1 as a 20% challenger of the reference product
    page.get_by_test_id("nav-deploy").click()
    form = page.get_by_test_id("deploy-form")
    form.wait_for()
    page.get_by_test_id("dep-partner").select_option(served.partner_id)
    page.get_by_test_id("dep-product").fill("reference")
    page.get_by_test_id("dep-strategy").select_option("reference_loan")
    page.get_by_test_id("dep-champion").select_option("1.0.0")
    page.get_by_test_id("dep-add-challenger").click()
    page.get_by_test_id("dep-challenger-0").select_option("1.0.1")
    page.get_by_test_id("dep-share-0").fill("20")
    page.get_by_test_id("dep-submit").click()
    assert "Deployed" in page.get_by_test_id("notice").inner_text()
    page.get_by_test_id("deployments").get_by_text("1.0.1 (20%)").wait_for()
    page.screenshot(path=str(shots / "deploy-en.png"), full_page=True)

    # -- the explorer: one decision, its path and reasons in both languages ----------------------
    page.get_by_test_id("nav-decisions").click()
    page.get_by_test_id("q-product").fill("reference")
    page.get_by_test_id("q-search").click()
    page.get_by_test_id("decisions").wait_for()
    page.screenshot(path=str(shots / "explorer-en.png"))
    page.get_by_test_id("decision-link").first.click()
    view = page.get_by_test_id("decision-view")
    view.wait_for()
    page.get_by_test_id("flow-graph").wait_for()
    assert page.locator("g.node.visited").count() >= 3  # the path drawn on the flow
    english = page.get_by_test_id("decision-reasons").inner_text()
    page.screenshot(path=str(shots / "decision-en.png"), full_page=True)
    page.get_by_test_id("lang").select_option("zh")
    chinese = page.get_by_test_id("decision-reasons").inner_text()
    assert chinese != english
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese)
    page.screenshot(path=str(shots / "decision-zh.png"), full_page=True)
    # the flow editor and the dashboards render too
    page.get_by_test_id("nav-dashboards").click()
    page.get_by_test_id("dash-compare").wait_for()
    page.screenshot(path=str(shots / "dashboards-zh.png"), full_page=True)
    page.close()


def test_identity_demo_draws_the_faces(
    served: Served, browser: Any, tmp_path: Path, engine: Any, pairs_dir: Path
) -> None:
    # its screenshot stays out of docs/: the photos are third-party test images
    served.state.identity = engine  # the models the service loads when installed
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(TIMEOUT)
    sign_in(page, served.url, "analyst", "en")
    page.get_by_test_id("nav-identity").click()
    page.get_by_test_id("id-selfie").set_input_files(str(pairs_dir / "img1.jpg"))
    page.get_by_test_id("id-photo").set_input_files(str(pairs_dir / "img2.jpg"))
    page.wait_for_function("() => !document.querySelector(\"[data-testid='id-verify']\").disabled")
    page.get_by_test_id("id-verify").click()
    result = page.get_by_test_id("id-result")
    result.wait_for(timeout=60_000)
    assert "Match" in result.inner_text() and "yes" in result.inner_text()
    assert page.locator("canvas.picture").count() == 2
    page.screenshot(path=str(tmp_path / "identity-en.png"), full_page=True)
    page.close()


def test_parameter_curve_and_flow_routing(served: Served, browser: Any, shots: Path) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(TIMEOUT)
    sign_in(page, served.url, "analyst", "en")
    page.get_by_test_id("edit-consumer_loan-1.0.0").click()
    page.get_by_test_id("check-ok").wait_for()
    # a routing target in the drawn flow: send the knock-outs' default elsewhere, then back
    page.get_by_test_id("select-flow").click()
    route = page.get_by_test_id("route-nodes.2.default")
    assert route.input_value() == "application_score"
    route.select_option("pricing")  # the scorecard is then never reached: the engine says so
    error = page.get_by_test_id("check-error")
    error.wait_for()
    page.screenshot(path=str(shots / "flow-en.png"), full_page=True)
    route.select_option("application_score")
    page.get_by_test_id("check-ok").wait_for()
    # the cut-off curve over the stored decisions, moved with the slider
    page.get_by_test_id("simulate").click()
    page.get_by_test_id("sim-run").click()
    curve = page.get_by_test_id("sim-curve")
    curve.wait_for(timeout=60_000)
    first = page.get_by_test_id("curve-rate").inner_text()
    slider = page.get_by_test_id("param-slider")
    slider.focus()
    for _ in range(4):
        slider.press("ArrowRight")
    assert page.get_by_test_id("curve-rate").inner_text() != first
    curve.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "curve-en.png"), full_page=True)
    page.close()
