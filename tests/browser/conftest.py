"""Browser harness: the real app served by the local host (one per test module, against
the session's emulators and the built models), driven by Debian's headless Chromium
through Playwright. No browser is ever downloaded: without ``chromium`` on the PATH
these tests fail, saying how to install it."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from prism_local.localstack import StackState
from tests.e2e.conftest import FUNCTION_KEY, PipelineUnderTest, ServedApp, make_pipeline, serve

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
# What keeps Chromium quiet and local: no GPU, no sandbox (root in a container), and
# none of the background fetches (updates, sync, safe browsing) that need the internet.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Console:
    """A page on the console, with every browser-side error it has seen."""

    page: Page
    url: str
    errors: list[str] = field(default_factory=list)

    def open(self) -> None:
        self.page.goto(self.url)


@dataclass
class ConsoleApp:
    app: ServedApp
    pipeline: PipelineUnderTest

    @property
    def url(self) -> str:
        return f"{self.app.base_url}/console?code={FUNCTION_KEY}"


@pytest.fixture(scope="module")
def console_app(
    local_stack: StackState,
    built_models: Mapping[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ConsoleApp]:
    pipeline = make_pipeline(local_stack, f"t{uuid.uuid4().hex[:16]}")
    log = tmp_path_factory.mktemp("console") / "devhost.log"
    with serve(pipeline, log) as app:
        yield ConsoleApp(app, pipeline)


# Module scope, not session: Playwright's sync API keeps an asyncio loop running on the
# main thread while it is open, and every later test that calls asyncio.run would fail.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "Debian's chromium is not installed: run `make system-deps` "
            "(apt-get install chromium); the browser tests never download a browser"
        )
    # launch() gives the browser a fresh temporary user-data dir of its own.
    browser = playwright.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


def _record(errors: list[str], message: ConsoleMessage) -> None:
    if message.type == "error":
        errors.append(f"console: {message.text}")


@pytest.fixture
def console(
    browser: Browser, console_app: ConsoleApp, request: pytest.FixtureRequest
) -> Iterator[Console]:
    """A fresh page (its own browser context) on the console; a screenshot of it is
    saved under test-artifacts/browser/ whatever the outcome."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    opened = Console(page, console_app.url)
    page.on("console", lambda message: _record(opened.errors, message))
    page.on("pageerror", lambda error: opened.errors.append(f"page: {error}"))
    page.on("requestfailed", lambda req: opened.errors.append(f"request failed: {req.url}"))
    try:
        yield opened
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
        context.close()
