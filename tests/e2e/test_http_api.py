"""The HTTP API served by the local host: success and error paths, and auth."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import MAX_BYTES, PipelineUnderTest, ServedApp

pytestmark = pytest.mark.e2e
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_posting_a_photo_returns_its_labels_synchronously(served_app: ServedApp) -> None:
    answer = served_app.request(
        "POST", "/v1/infer?name=cat.jpg", (SAMPLES / "cat.jpg").read_bytes()
    )
    assert answer.status == 200, answer.body
    assert answer.body["modality"] == "image" and answer.body["status"] == "ok"
    assert answer.body["result"]["labels"][0]["label"]
    assert answer.body["source"] == {"kind": "http", "name": "cat.jpg", "size": 27833}


def test_a_result_can_be_read_back_by_id_and_listed(served_app: ServedApp) -> None:
    posted = served_app.request("POST", "/v1/infer", b"The match ended in a draw after extra time.")
    assert posted.status == 200, posted.body
    read = served_app.request("GET", f"/v1/results/{posted.body['id']}")
    assert read.status == 200 and read.body["id"] == posted.body["id"]
    listed = served_app.request("GET", "/v1/results?modality=text&limit=5")
    assert listed.status == 200 and posted.body["id"] in [d["id"] for d in listed.body["results"]]


def test_posting_the_same_content_twice_keeps_one_result(served_app: ServedApp) -> None:
    first = served_app.request("POST", "/v1/infer", b"Same words, same result.")
    second = served_app.request("POST", "/v1/infer", b"Same words, same result.")
    assert first.body["id"] == second.body["id"]
    listed = served_app.request("GET", "/v1/results?modality=text&limit=100")
    assert [d["id"] for d in listed.body["results"]].count(first.body["id"]) == 1


@pytest.mark.parametrize(
    ("body", "path", "status", "code"),
    [
        ((SAMPLES / "bad" / "invoice.pdf").read_bytes(), "/v1/infer", 422, "encrypted"),
        (b"", "/v1/infer", 422, "empty"),
        ((SAMPLES / "bad" / "truncated.jpg").read_bytes(), "/v1/infer", 422, "corrupt"),
        ("café".encode("latin-1") * 20, "/v1/infer", 422, "invalid_encoding"),
        (b"hello", "/v1/infer?modality=hologram", 400, "bad_request"),
        (b"not an image", "/v1/infer?modality=image", 415, "unsupported_type"),
    ],
)
def test_bad_input_answers_its_status_and_code(
    served_app: ServedApp, body: bytes, path: str, status: int, code: str
) -> None:
    answer = served_app.request("POST", path, body)
    assert answer.status == status, answer.body
    assert answer.body["error"]["code"] == code
    assert answer.body["error"]["message"]


def test_a_body_over_the_limit_is_refused_with_413_and_its_code(served_app: ServedApp) -> None:
    answer = served_app.request("POST", "/v1/infer", b"x" * (MAX_BYTES + 1))
    assert answer.status == 413
    assert answer.body["error"]["code"] == "too_large"


def test_a_huge_declared_body_is_refused_before_it_is_read(served_app: ServedApp) -> None:
    # Ten bytes sent, a terabyte declared: answered at once, not after a long read.
    answer = served_app.request(
        "POST", "/v1/infer", b"x" * 10, headers={"Content-Length": str(10**12)}
    )
    assert answer.status == 413


def test_unknown_result_id_is_404_with_a_code(served_app: ServedApp) -> None:
    answer = served_app.request("GET", "/v1/results/" + "0" * 64)
    assert answer.status == 404 and answer.body["error"]["code"] == "not_found"


def test_protected_routes_need_the_function_key(served_app: ServedApp) -> None:
    assert served_app.request("GET", "/v1/models", key=None).status == 401
    assert served_app.request("GET", "/v1/models", key="wrong").status == 401
    assert served_app.request("POST", "/v1/infer", b"hi", key=None).status == 401


def test_health_is_anonymous_and_checks_every_dependency(served_app: ServedApp) -> None:
    answer = served_app.request("GET", "/v1/health", key=None)
    assert answer.status == 200, answer.body
    assert answer.body["checks"] == {"storage": True, "queues": True, "cosmos": True,
                                     "models": True}  # fmt: skip


def test_models_lists_every_model_with_its_gate(served_app: ServedApp) -> None:
    answer = served_app.request("GET", "/v1/models")
    assert answer.status == 200
    modalities = {m["modality"] for m in answer.body["models"]}
    assert modalities == {"image", "audio", "text", "document", "router"}
    assert all(m["gate_passed"] for m in answer.body["models"])


def test_a_bulk_listing_pages_through_every_result_with_its_continuation_token(
    served_app: ServedApp,
) -> None:
    posted = set()
    for n in range(5):
        answer = served_app.request("POST", "/v1/infer", f"Sentence number {n} of five.".encode())
        assert answer.status == 200, answer.body
        posted.add(answer.body["id"])
    seen: list[str] = []
    path = "/v1/results?modality=text&status=ok&limit=2"
    while True:
        page = served_app.request("GET", path)
        assert page.status == 200, page.body
        seen += [d["id"] for d in page.body["results"]]
        if page.body["continuation"] is None:
            break
        path = (
            f"/v1/results?modality=text&status=ok&limit=2&continuation={page.body['continuation']}"
        )
    assert len(seen) == len(set(seen)) == 5 and set(seen) == posted
    garbled = served_app.request("GET", "/v1/results?limit=2&continuation=not-a-token")
    assert garbled.status == 400 and garbled.body["error"]["code"] == "invalid_continuation"
    other_query = served_app.request(
        "GET", "/v1/results?modality=image&limit=2&continuation=" + path.rsplit("=", 1)[1]
    )
    assert other_query.status == 400


def test_a_blob_dropped_in_the_container_is_found_by_its_name(
    pipeline: PipelineUnderTest, served_app: ServedApp
) -> None:
    container = pipeline.settings.incoming_container
    pipeline.client.blobs.upload(container, "drop/notes.txt", b"Rain is forecast for Tuesday.")
    path = "/v1/files?name=drop/notes.txt"
    pending = served_app.request("GET", path)
    assert pending.status == 200 and pending.body["state"] == "pending"
    assert pending.body["result"] is None
    pipeline.run_until_idle()
    done = served_app.request("GET", path)
    assert done.status == 200 and done.body["state"] == "done", done.body
    assert done.body["result"]["source"]["blob"] == "drop/notes.txt"
    assert done.body["result"]["id"] == done.body["id"]
    listed = served_app.request("GET", "/v1/results?prefix=drop/")
    assert [d["id"] for d in listed.body["results"]] == [done.body["id"]]
    missing = served_app.request("GET", "/v1/files?name=never-there.txt")
    assert missing.status == 404 and missing.body["error"]["code"] == "not_found"


def test_stored_results_are_searched_by_meaning_across_modalities(served_app: ServedApp) -> None:
    names = ("cat.jpg", "coffee.png", "greeting.flac", "forecast.md")
    for name in names:
        posted = served_app.request("POST", f"/v1/infer?name={name}", (SAMPLES / name).read_bytes())
        assert posted.status == 200, posted.body
        field = posted.body["search"]  # written with the result, by the real text model
        assert len(field["vector"]) == 384 and all(-127 <= v <= 127 for v in field["vector"])
        assert ("words" in field) == (posted.body["modality"] != "text")
    # The local emulator has no vector search: the same field, scanned exactly.
    cats = served_app.request("GET", "/v1/search?q=a%20cat")
    assert cats.status == 200, cats.body
    assert cats.body["backend"] == "scan" and cats.body["count"] == len(names)
    assert cats.body["results"][0]["name"] == "cat.jpg"
    assert "cat" in cats.body["results"][0]["matched"]
    scores = [hit["score"] for hit in cats.body["results"]]
    assert scores == sorted(scores, reverse=True)
    spoken = served_app.request("GET", "/v1/search?q=a%20spoken%20greeting&modality=audio")
    assert [hit["name"] for hit in spoken.body["results"]] == ["greeting.flac"]
    weather = served_app.request("GET", "/v1/search?q=will%20it%20rain%20tomorrow&limit=1")
    assert [hit["name"] for hit in weather.body["results"]] == ["forecast.md"]
    assert weather.body["results"][0]["matched"] == "embedding"
    later = served_app.request("GET", "/v1/search?q=a%20cat&since=2099-01-01")
    assert later.status == 200 and later.body["results"] == []
    empty = served_app.request("GET", "/v1/search?q=%20")
    assert empty.status == 400 and empty.body["error"]["code"] == "bad_request"


def test_a_scanned_pdf_is_read_by_ocr_and_found_by_its_printed_words(
    served_app: ServedApp,
) -> None:
    for name in ("scanned.pdf", "report.pdf"):
        posted = served_app.request("POST", f"/v1/infer?name={name}", (SAMPLES / name).read_bytes())
        assert posted.status == 200, posted.body
        assert posted.body["modality"] == "document" and posted.body["model"]["name"] == "pp-ocrv4"
        assert len(posted.body["search"]["vector"]) == 384
    scanned = served_app.request("POST", "/v1/infer?name=scanned.pdf",
                                 (SAMPLES / "scanned.pdf").read_bytes()).body  # fmt: skip
    [page] = scanned["result"]["pages"]
    assert page["source"] == "ocr" and page["text"].startswith("Delivery note 2026-0417")
    assert scanned["result"]["page_count"] == 1 and scanned["result"]["ocr_pages"] == 1
    found = served_app.request(
        "GET", "/v1/search?q=boxes%20of%20printer%20paper%20delivered&modality=document"
    )
    assert found.status == 200, found.body
    assert found.body["results"][0]["name"] == "scanned.pdf"


def test_a_video_gets_frame_labels_and_a_transcript_on_a_timeline_and_is_found_by_its_words(
    served_app: ServedApp,
) -> None:
    posted = served_app.request(
        "POST", "/v1/infer?name=launch.mp4", (SAMPLES / "launch.mp4").read_bytes()
    )
    assert posted.status == 200, posted.body
    assert posted.body["modality"] == "video"
    video = posted.body["result"]
    assert [frame["time"] for frame in video["frames"]] == [0.0, 4.0]  # its two key frames
    assert "cat" in video["frames"][0]["labels"][0]["label"]
    transcript = video["audio"]["transcript"]["text"].lower()
    assert "welcome aboard" in transcript and "rocket" in transcript
    kinds = ["speech" if "speech" in entry else "frame" for entry in video["timeline"]]
    assert kinds == ["frame", "speech", "frame"]
    found = served_app.request("GET", "/v1/search?q=when%20does%20the%20rocket%20take%20off")
    assert found.status == 200, found.body
    assert found.body["results"][0]["name"] == "launch.mp4"
