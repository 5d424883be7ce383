"""The console in headless Chromium against the real app, emulators and models: files
dropped on the page flow through the pipeline and their results appear on it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, Locator, Route, expect

from prism.onnx.registry import model_report
from prism.settings import get_settings, load_settings
from tests.browser.conftest import ARTIFACTS, Console, ConsoleApp
from tests.e2e.conftest import MAX_BYTES

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
# The first result waits for the blob scan, the queue and the models' first load.
RESULT_TIMEOUT_MS = 90_000
# The console lists every model of the manifest (an optional one, such as whisper-base,
# only where it was built: prism.onnx.registry.model_report).
MODELS = len(model_report(get_settings().model_dir))


def result_for(console: Console, name: str) -> Locator:
    return console.page.locator("li.result", has=console.page.get_by_text(name, exact=True))


def finished(result: Locator) -> None:
    expect(result).to_have_attribute(
        "data-status", re.compile("ok|rejected"), timeout=RESULT_TIMEOUT_MS
    )


def upload_sample(console: Console, sample: str) -> Locator:
    """Open the console, upload ``samples/<sample>``, and wait for its result."""
    console.open()
    console.page.locator("#file-input").set_input_files(SAMPLES / sample)
    result = result_for(console, Path(sample).name)
    finished(result)
    return result


def store_and_wait(console_app: ConsoleApp, samples: tuple[str, ...]) -> dict[str, str]:
    """Send each sample through the API and wait for its result; its blob name by sample."""
    blobs, ids = {}, {}
    for sample in samples:
        sent = console_app.app.request(
            "POST", f"/v1/files?name={sample}", (SAMPLES / sample).read_bytes()
        )
        assert sent.status == 202, sent.body
        blobs[sample], ids[sample] = sent.body["blob"], sent.body["id"]
    deadline = time.monotonic() + RESULT_TIMEOUT_MS / 1000
    for sample, document_id in ids.items():
        while console_app.app.request("GET", f"/v1/results/{document_id}").status != 200:
            assert time.monotonic() < deadline, f"no result for {sample}"
            time.sleep(0.2)
    return blobs


def test_the_console_loads_its_data_without_a_browser_error(console: Console) -> None:
    console.open()
    page = console.page
    expect(page).to_have_title("Prism console")
    expect(page.locator("#health")).to_have_text("Healthy")
    expect(page.locator("#models tbody tr")).to_have_count(MODELS)
    expect(page.locator("#models tbody")).to_contain_text("efficientnet-lite0")
    expect(page.locator("#lifecycle-chart svg polygon")).to_have_count(4)
    expect(page.locator("#lifecycle-summary")).to_contain_text("with the policy")
    # One row per modality's queue.
    expect(page.locator("#queues tbody tr")).to_have_count(len(load_settings({}).modality_queues))
    assert console.errors == []


def test_an_image_a_recording_and_a_text_show_their_results(console: Console) -> None:
    console.open()
    console.page.locator("#file-input").set_input_files(
        [SAMPLES / "cat.jpg", SAMPLES / "greeting.flac", SAMPLES / "review.txt"]
    )
    image, audio, text = (
        result_for(console, name) for name in ("cat.jpg", "greeting.flac", "review.txt")
    )
    for result in (image, audio, text):
        finished(result)
        expect(result).to_have_attribute("data-status", "ok")
    expect(image.locator(".badge")).to_have_text("image")
    expect(image.locator(".bars li")).to_have_count(3)
    expect(image.locator(".meta").first).to_contain_text("451×300 jpeg")
    expect(audio.locator(".badge")).to_have_text("audio")
    # greeting.flac has two stretches of speech: each is drawn on the timeline.
    expect(audio.locator("svg.timeline rect.speech")).to_have_count(2)
    # What was said: the transcript under the timeline, its segments marked on it.
    expect(audio.locator(".transcript")).to_contain_text("Hello from Prism")
    expect(audio.locator("svg.timeline rect.said title").first).to_contain_text("Hello from Prism")
    expect(text.locator(".badge")).to_have_text("text")
    expect(text.locator(".bars li").first).to_be_visible()
    expect(console.page.locator("#uploads li .state")).to_have_text(["processed"] * 3)
    counters = console.page.locator("#counters tbody")
    expect(counters.locator("tr").first.locator("td").first).not_to_have_text("0")  # image
    # What a user sees first after three uploads (the picture in docs/local.md).
    console.page.screenshot(path=ARTIFACTS / "console-desktop.png")
    assert console.errors == []


@pytest.mark.parametrize(
    ("sample", "code"),
    [("bad/invoice.pdf", "encrypted"), ("bad/truncated.jpg", "corrupt")],
)
def test_a_hostile_file_shows_its_rejection_code(console: Console, sample: str, code: str) -> None:
    result = upload_sample(console, sample)
    expect(result).to_have_attribute("data-status", "rejected")
    expect(result.locator(".error-code")).to_have_text(code)
    upload = console.page.locator("#uploads li", has_text=Path(sample).name)
    expect(upload.locator(".state")).to_have_text(f"rejected · {code}")
    assert console.errors == []


def test_a_scanned_pdf_shows_its_pages_and_the_words_ocr_read(console: Console) -> None:
    document = upload_sample(console, "scanned.pdf")
    expect(document).to_have_attribute("data-status", "ok")
    expect(document.locator(".badge")).to_have_text("document")
    expect(document.locator(".excerpt")).to_contain_text("printer paper")
    expect(document.locator(".meta").first).to_contain_text("1 page · 1 read by OCR")
    document.get_by_role("button", name="Details").click()
    page = console.page.locator("#detail .document-pages li").first
    expect(page).to_contain_text("read by OCR")
    expect(page).to_contain_text("printer paper")
    expect(page.locator(".ocr-lines li").first).to_contain_text("box ")
    assert console.errors == []


def test_a_video_shows_its_labels_transcript_and_timeline(console: Console) -> None:
    video = upload_sample(console, "launch.mp4")
    expect(video).to_have_attribute("data-status", "ok")
    expect(video.locator(".badge")).to_have_text("video")
    expect(video.locator(".transcript")).to_contain_text("Welcome aboard")
    expect(video.locator(".meta").first).to_contain_text("2 frames labelled")
    video.get_by_role("button", name="Details").click()
    entries = console.page.locator("#detail .video-timeline li")
    expect(entries).to_have_count(3)
    expect(entries.nth(0)).to_contain_text("cat")
    expect(entries.nth(1)).to_contain_text("Welcome aboard")
    assert console.errors == []


def test_an_image_with_words_shows_them_with_their_boxes(console: Console) -> None:
    image = upload_sample(console, "sign.jpg")
    expect(image.locator(".excerpt")).to_contain_text("FRESH BAGELS")
    image.get_by_role("button", name="Details").click()
    expect(console.page.locator("#detail .ocr-lines li").first).to_contain_text("FRESH BAGELS")
    expect(console.page.locator("#detail .ocr-lines li").first).to_contain_text("box ")
    assert console.errors == []


def test_an_oversized_file_is_refused_with_too_large(console: Console) -> None:
    console.open()
    payload: FilePayload = {
        "name": "huge.bin",
        "mimeType": "application/octet-stream",
        "buffer": b"\0" * (MAX_BYTES + 1),
    }
    console.page.locator("#file-input").set_input_files(payload)
    upload = console.page.locator("#uploads li", has_text="huge.bin")
    expect(upload.locator(".state")).to_contain_text("too_large")
    # A 413 answer is the expected outcome here, not an error of the page's own.
    assert [e for e in console.errors if "413" not in e] == []


def test_the_drop_zone_is_reachable_and_usable_from_the_keyboard(console: Console) -> None:
    console.open()
    page = console.page
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#file-input")).to_be_focused()
    outline = page.locator(".drop-label").evaluate("label => getComputedStyle(label).outlineStyle")
    assert outline == "solid"  # the drop zone shows where the focus is
    # Space on the focused input opens the file chooser, as a click would. Pressed
    # through the locator: Playwright then waits until the input is ready for input.
    with page.expect_file_chooser() as chooser:
        page.locator("#file-input").press("Space")
    chooser.value.set_files(SAMPLES / "forecast.md")
    result = result_for(console, "forecast.md")
    finished(result)
    # The detail view opens from the keyboard, takes the focus, and Escape closes it.
    result.get_by_role("button", name="Details").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#detail")
    expect(dialog).to_be_visible()
    expect(page.locator("#detail-close")).to_be_focused()
    expect(dialog.locator("#detail-fields")).to_contain_text("all-minilm-l6-v2")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert console.errors == []


def test_files_dropped_on_the_zone_are_uploaded(console: Console) -> None:
    console.open()
    page = console.page
    # A real drag from the desktop cannot be scripted; this is the event it produces.
    page.locator("#drop-zone").evaluate(
        """zone => {
            const data = new DataTransfer();
            data.items.add(new File(["The striker scored twice in the final minutes."],
                                    "dropped.txt", {type: "text/plain"}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true,
                                                      cancelable: true}));
        }"""
    )
    result = result_for(console, "dropped.txt")
    finished(result)
    expect(result).to_have_attribute("data-status", "ok")
    assert console.errors == []


def test_counters_count_what_the_pipeline_processed(
    console: Console, console_app: ConsoleApp
) -> None:
    for sample in ("coffee.png", "bad/latin1.txt"):
        sent = console_app.app.request(
            "POST", f"/v1/files?name={Path(sample).name}", (SAMPLES / sample).read_bytes()
        )
        assert sent.status == 202, sent.body
    console.open()
    for name in ("coffee.png", "latin1.txt"):
        finished(result_for(console, name))
    counters = console.page.locator("#counters tbody")
    for modality in ("image", "unrouted"):
        row = counters.locator("tr", has=console.page.locator("th", has_text=modality))
        # Counters refresh on their own: wait for the next poll to count these.
        expect(row.locator("td").first).not_to_have_text("0", timeout=RESULT_TIMEOUT_MS)
    image = counters.locator("tr", has=console.page.locator("th", has_text="image"))
    expect(image.locator("td").nth(3)).not_to_have_text("–")  # a p50 latency
    assert console.errors == []


def test_results_filter_page_back_and_are_found_by_blob_name(
    console: Console, console_app: ConsoleApp
) -> None:
    # Every result stored before the page opens: what its first page holds is then the
    # newest two, whatever order the four finished in.
    blobs = store_and_wait(console_app, ("forecast.md", "review.txt", "order.json", "coffee.png"))
    console.url = f"{console_app.url}&page_size=2"  # two results a page
    console.open()
    page = console.page
    # Only text: the photo goes, and the older text results are a click away.
    page.locator("#filter-modality").select_option("text")
    page.get_by_role("button", name="Apply").click()
    expect(result_for(console, "coffee.png")).to_have_count(0)
    texts = page.locator("li.result .badge.text")
    expect(texts).to_have_count(2)
    older = page.get_by_role("button", name="Show older results")
    for _ in range(50):  # a page a click: bounded by what this module's app stored
        if not older.is_visible():
            break
        older.click()
        # That page has arrived (the button is disabled while it loads, then hidden if
        # it was the last).
        expect(page.locator("#results-more")).to_be_enabled()
    expect(older).to_be_hidden()
    assert texts.count() >= 3  # every text result of this module's app, page by page
    expect(page.locator("li.result .badge:not(.text)")).to_have_count(0)
    # A file found by its blob name: its state, and its detail opens.
    page.get_by_label("Find a file by its name").fill(blobs["coffee.png"])
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#lookup-state")).to_contain_text("processed")
    expect(page.locator("#detail")).to_be_visible()
    expect(page.locator("#detail-title")).to_have_text("coffee.png")
    page.keyboard.press("Escape")
    page.get_by_label("Find a file by its name").fill("no-such-file.txt")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#lookup-state")).to_contain_text("no file and no result")
    assert [e for e in console.errors if "404" not in e] == []


# Counts the answers to results polls the console has read that asked for every modality.
# The count rises in the promise the console's own call awaits, so once a task sees it
# the console has already handled that answer.
COUNT_UNFILTERED_ANSWERS = """
window.unfilteredAnswers = 0;
const fetchOnPage = window.fetch.bind(window);
window.fetch = async (...request) => {
  const response = await fetchOnPage(...request);
  const url = String(request[0]);
  if (!url.includes("/results?") || url.includes("modality=")) return response;
  const read = response.json.bind(response);
  response.json = () => read().then((body) => { window.unfilteredAnswers += 1; return body; });
  return response;
};
"""


def test_a_poll_answered_after_the_filters_change_shows_nothing_they_exclude(
    console: Console, console_app: ConsoleApp
) -> None:
    store_and_wait(console_app, ("coffee.png", "review.txt"))
    page = console.page
    page.add_init_script(COUNT_UNFILTERED_ANSWERS)
    # The page's first poll of every result is held until the filters have changed: its
    # answer arrives late, as a slow poll's does.
    unfiltered: list[Route] = []

    def hold_the_first_unfiltered_poll(route: Route) -> None:
        if "modality=" in route.request.url:
            route.continue_()
            return
        unfiltered.append(route)
        if len(unfiltered) > 1:
            route.continue_()

    page.route(re.compile(r"/v1/results\?"), hold_the_first_unfiltered_poll)
    console.open()
    deadline = time.monotonic() + 15
    while not unfiltered:
        assert time.monotonic() < deadline, "the console never polled its results"
        page.wait_for_timeout(50)
    page.locator("#filter-modality").select_option("text")
    page.get_by_role("button", name="Apply").click()
    expect(result_for(console, "review.txt").first).to_be_visible()
    unfiltered[0].continue_()
    page.wait_for_function(f"() => window.unfilteredAnswers === {len(unfiltered)}")
    expect(page.locator("li.result .badge:not(.text)")).to_have_count(0)
    expect(result_for(console, "coffee.png")).to_have_count(0)


def test_stored_results_are_searched_by_meaning(console: Console, console_app: ConsoleApp) -> None:
    ids = {}
    for sample in ("cat.jpg", "greeting.flac", "forecast.md"):
        sent = console_app.app.request(
            "POST", f"/v1/files?name={sample}", (SAMPLES / sample).read_bytes()
        )
        assert sent.status == 202, sent.body
        ids[sample] = sent.body["id"]
    deadline = time.monotonic() + RESULT_TIMEOUT_MS / 1000
    for sample, document_id in ids.items():
        while console_app.app.request("GET", f"/v1/results/{document_id}").status != 200:
            assert time.monotonic() < deadline, f"no result for {sample}"
            time.sleep(0.2)
    console.open()
    page = console.page
    hits = page.locator("#search-results li")
    page.get_by_label("Words to look for").fill("a cat")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#search-state")).to_contain_text("best first")
    expect(hits.first.locator(".result-name")).to_contain_text("cat.jpg")
    expect(hits.first.locator(".meta")).to_contain_text("cat")  # the labels it matched
    # Only audio: the transcript is what was compared.
    page.locator("#search-modality").select_option("audio")
    page.get_by_label("Words to look for").fill("a spoken greeting")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(hits.first.locator(".result-name")).to_contain_text("greeting.flac")
    expect(page.locator("#search-results .badge:not(.audio)")).to_have_count(0)
    hits.first.get_by_role("button", name="Details").click()
    expect(page.locator("#detail")).to_be_visible()
    expect(page.locator("#detail-title")).to_contain_text("greeting.flac")
    said = page.locator("#detail .transcript-segments li")
    expect(said.first).to_contain_text("Hello from Prism")
    assert console.errors == []


# WCAG contrast of each element's own text against the first opaque background behind it.
CONTRAST = """() => {
  const channel = (c) => {
    c /= 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const parse = (text) => text.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (node) => {
    for (; node; node = node.parentElement) {
      const rgba = parse(getComputedStyle(node).backgroundColor);
      if (rgba.length < 4 || rgba[3] === 1) return rgba;
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const node of document.querySelectorAll("body *")) {
    const own = [...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
    if (!own || !node.checkVisibility() || node.closest("svg")) continue;
    const [fg, bg] = [luminance(parse(getComputedStyle(node).color)), luminance(background(node))];
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) low.push(`${node.tagName}.${node.className}: ${ratio.toFixed(2)}`);
  }
  return low;
}"""


def test_text_meets_aa_contrast_and_every_control_is_named(console: Console) -> None:
    console.open()
    page = console.page
    page.locator("#file-input").set_input_files(SAMPLES / "bad" / "empty.txt")
    finished(result_for(console, "empty.txt"))
    expect(page.locator("#models tbody tr")).to_have_count(MODELS)
    assert page.evaluate(CONTRAST) == []
    expect(page.get_by_label("Drop files here")).to_have_id("file-input")
    controls = page.get_by_role("button").all()
    assert len(controls) >= 2  # the file input and the result's Details
    for control in controls:
        expect(control).to_have_accessible_name(re.compile(r"\w"))
    assert console.errors == []


def test_the_console_reads_well_on_a_phone(console: Console) -> None:
    page = console.page
    page.set_viewport_size({"width": 390, "height": 844})
    console.open()
    expect(page.locator("#lifecycle-chart svg")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0  # nothing wider than the screen
    page.screenshot(path=ARTIFACTS / "console-phone.png", full_page=False)
    assert console.errors == []
