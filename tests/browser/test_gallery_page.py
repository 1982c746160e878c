"""The upload and gallery page in a real browser (headless Chromium) against the local stack.

Everything a person would do and see: choose a file, watch it upload and go through the
pipeline, see its thumbnail and metadata in the gallery; be told, on the page, why a text file or
a file over the size limit is refused. And what a person would not do but an attacker would: post
a form that breaks the presigned policy, or call the APIs without a valid token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from media_shared.ids import asset_id
from media_shared.index import AssetIndex
from tests.support import images
from tests.support.stack import Pipeline
from tools.runtime.apigateway import HttpGateway

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

INDEXED_TIMEOUT_MS = 120_000
MAX_UPLOAD_BYTES = 52_428_800  # the ingest root's default max_upload_bytes, as deployed locally
TIMES = "\u00d7"  # how the page writes width x height


def _card(page: Page, filename: str) -> Any:
    return page.locator("[data-testid=upload]").filter(has_text=filename)


def _loaded(page: Page, selector: Any) -> int:
    """The natural width of an <img> once the browser has decoded it (0 if it could not)."""
    handle = selector.element_handle()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=handle)
    return int(handle.evaluate("img => img.naturalWidth"))


def _uploaded_keys(pipeline: Pipeline) -> list[str]:
    s3 = pipeline.target.s3
    bucket = pipeline.target.bucket("uploads")
    listing = s3.list_object_versions(Bucket=bucket, Prefix="incoming/")
    return [v["Key"] for v in listing.get("Versions", [])]


def test_an_image_uploaded_through_the_page_appears_in_the_gallery_with_its_thumbnail(
    page: Page, pipeline: Pipeline, tmp_path: Path, artifacts: Path
) -> None:
    # Given a photo with camera EXIF
    photo = tmp_path / "harbour at dusk.jpg"
    photo.write_bytes(images.jpeg(1600, 1200, seed=11, exif=images.camera_exif()))
    # When it is chosen on the page
    page.set_input_files("[data-testid=file-input]", str(photo))
    # Then its card uploads it in full and follows it until it is indexed
    card = _card(page, "harbour at dusk.jpg")
    expect(card).to_have_attribute("data-state", "indexed", timeout=INDEXED_TIMEOUT_MS)
    expect(card.locator("[data-testid=upload-progress]")).to_have_js_property("value", 100)
    expect(card.locator("[data-testid=upload-state]")).to_contain_text(f"1600{TIMES}1200 JPEG")
    # and shows its thumbnail, which the browser fetched from the derived bucket and decoded
    thumbnail = card.locator("[data-testid=upload-thumbnail]")
    expect(thumbnail).to_be_visible()
    assert _loaded(page, thumbnail) == 256
    # and the gallery shows the asset with its metadata and a thumbnail
    asset = card.get_attribute("data-asset-id")
    assert asset is not None
    item = page.locator(f"[data-testid=asset][data-asset-id='{asset}']")
    expect(item).to_be_visible(timeout=30_000)
    expect(item.locator("[data-testid=asset-name]")).to_have_text("harbour-at-dusk.jpg")
    expect(item).to_contain_text("FUJIFILM X-T4")
    expect(item).to_contain_text(f"1600{TIMES}1200 JPEG")
    expect(item).to_contain_text("2026-08-14 18:42")
    assert _loaded(page, item.locator("[data-testid=asset-thumbnail]")) in {256, 512, 1024}
    # and the index agrees: the asset the page followed is this upload's, indexed
    record = AssetIndex(pipeline.target.dynamodb, pipeline.target.index_table).get(asset)
    assert record is not None
    assert record.status == "indexed"
    assert record.filename == "harbour-at-dusk.jpg"
    page.screenshot(path=str(artifacts / "gallery.png"), full_page=True)


def test_the_asset_id_the_page_follows_is_the_one_ingest_derives_from_the_upload(
    page: Page, pipeline: Pipeline, tmp_path: Path
) -> None:
    # Given a PNG uploaded through the page
    chart = tmp_path / "chart.png"
    chart.write_bytes(images.png(320, 240, seed=9, mode="RGBA"))
    page.set_input_files("[data-testid=file-input]", str(chart))
    card = _card(page, "chart.png")
    expect(card).to_have_attribute("data-state", "indexed", timeout=INDEXED_TIMEOUT_MS)
    # Then the record's original names the upload the asset id is derived from
    asset = card.get_attribute("data-asset-id")
    record = AssetIndex(pipeline.target.dynamodb, pipeline.target.index_table).get(str(asset))
    assert record is not None
    upload = record.item["ingested"]["data"]["upload"]
    assert upload["key"].startswith("incoming/")
    assert upload["key"].endswith("/chart.png")
    assert asset == asset_id(upload["bucket"], upload["key"], upload["version_id"])


def test_a_file_that_is_not_an_image_is_refused_with_a_visible_message(
    page: Page, pipeline: Pipeline, tmp_path: Path
) -> None:
    # Given a text file
    notes = tmp_path / "notes.txt"
    notes.write_bytes(images.text_file())
    # When it is chosen on the page
    page.set_input_files("[data-testid=file-input]", str(notes))
    # Then the page says why it was refused, and nothing was uploaded
    message = page.locator("[data-testid=message]")
    expect(message).to_be_visible()
    expect(message).to_contain_text("notes.txt was refused")
    expect(message).to_contain_text("only images can be uploaded")
    expect(_card(page, "notes.txt")).to_have_attribute("data-state", "refused")
    assert not [key for key in _uploaded_keys(pipeline) if key.endswith("/notes.txt")]


def test_a_file_over_the_size_limit_is_refused_with_a_visible_message(
    page: Page, pipeline: Pipeline, tmp_path: Path
) -> None:
    # Given a JPEG one byte over the limit
    huge = tmp_path / "huge.jpg"
    with huge.open("wb") as file:
        file.write(images.jpeg(64, 64, seed=1))
        file.truncate(MAX_UPLOAD_BYTES + 1)
    # When it is chosen on the page
    page.set_input_files("[data-testid=file-input]", str(huge))
    # Then the page says it is too large, and nothing was uploaded
    message = page.locator("[data-testid=message]")
    expect(message).to_be_visible(timeout=30_000)
    expect(message).to_contain_text("huge.jpg was refused")
    expect(message).to_contain_text(f"the largest upload accepted is {MAX_UPLOAD_BYTES:,} bytes")
    expect(_card(page, "huge.jpg")).to_have_attribute("data-state", "refused")
    assert not [key for key in _uploaded_keys(pipeline) if key.endswith("/huge.jpg")]


_POST_BREAKING_THE_POLICY = """
async ({override}) => {
  // the declared size is the file's: the grant takes exactly that many bytes
  const file = new Blob(["<html>not a jpeg</html>"], {type: "text/html"});
  const token = (await (await fetch("/local-auth/token", {method: "POST"})).json()).access_token;
  const asked = await fetch("/uploads", {
    method: "POST",
    headers: {"content-type": "application/json", authorization: `Bearer ${token}`},
    body: JSON.stringify({filename: "sneaky.jpg", content_type: "image/jpeg", size: file.size}),
  });
  const grant = await asked.json();
  const form = new FormData();
  for (const [name, value] of Object.entries({...grant.fields, ...override})) {
    form.append(name, value);
  }
  form.append("file", file);
  const posted = await fetch(grant.url, {method: "POST", body: form});
  return {status: posted.status, body: await posted.text()};
}
"""


@pytest.mark.parametrize(
    ("override", "status", "says"),
    [
        ({"Content-Type": "text/html"}, 403, "Policy Condition failed"),
        ({"key": "incoming/somewhere-else.jpg"}, 403, "Policy Condition failed"),
        ({"x-amz-meta-owner": "me"}, 403, "Extra input fields"),
    ],
)
def test_the_bucket_refuses_a_form_that_breaks_the_presigned_policy(
    page: Page, pipeline: Pipeline, override: dict[str, str], status: int, says: str
) -> None:
    # Given a presigned POST granted to the page, when the page posts a form that breaks it
    answer = page.evaluate(_POST_BREAKING_THE_POLICY, {"override": override})
    # Then the bucket refuses it (and its CORS rule lets the page read why)
    assert answer["status"] == status, answer
    assert says in answer["body"]
    assert not [key for key in _uploaded_keys(pipeline) if key.endswith("sneaky.jpg")]


_CALL = """
async ({path, method, token}) => {
  const headers = {"content-type": "application/json"};
  if (token) headers.authorization = `Bearer ${token}`;
  const body = method === "POST"
    ? JSON.stringify({filename: "a.jpg", content_type: "image/jpeg", size: 3}) : undefined;
  const response = await fetch(path, {method, headers, body});
  return {status: response.status, body: await response.text()};
}
"""


@pytest.mark.parametrize(("method", "path"), [("POST", "/uploads"), ("GET", "/assets")])
def test_the_apis_refuse_requests_without_a_valid_token(
    page: Page, gateway: HttpGateway, method: str, path: str
) -> None:
    issuer = gateway.issuer
    refused = {
        "none": None,
        "garbage": "not-a-token",
        "expired": issuer.mint(lifetime=-1),
        "other audience": issuer.mint(audience="someone-else"),
        "other issuer": issuer.mint(issuer="https://issuer.example.invalid"),
        "tampered": issuer.mint()[:-4] + "AAAA",
    }
    for why, token in refused.items():
        answer = page.evaluate(_CALL, {"path": path, "method": method, "token": token})
        assert answer["status"] == 401, f"{why}: {answer}"
    accepted = page.evaluate(_CALL, {"path": path, "method": method, "token": issuer.mint()})
    assert accepted["status"] in {200, 201}, accepted
