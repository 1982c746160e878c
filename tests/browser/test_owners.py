"""Two people on one deployment: each sees only their own media, through the page and the APIs.

Ada and Bob sign in with tokens of the same (local) issuer (``?user=`` on the page: the local
issuer mints a token for any subject). Each uploads through the page; each gallery shows only its
owner's assets; a copied asset URL of the other's asset is a 404, like an id nobody has; the
bucket refuses a form that tries to upload under the other's owner id; the operator scope reads
everyone's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from media_shared.index import AssetIndex
from media_shared.ownership import owner_id
from tests.support import images
from tests.support.stack import Pipeline
from tools.localstack.terraform import LOCAL_OPERATOR_SCOPE
from tools.runtime.apigateway import LOCAL_JWT_ISSUER, HttpGateway

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

INDEXED_TIMEOUT_MS = 120_000
ADA, BOB = owner_id(LOCAL_JWT_ISSUER, "ada"), owner_id(LOCAL_JWT_ISSUER, "bob")


@pytest.fixture
def signed_in(browser: Browser, gateway: HttpGateway) -> Iterator[Callable[[str], Page]]:
    """``signed_in("ada")``: the page in a fresh browser context, signed in as that user."""
    contexts = []

    def open_as(user: str) -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{gateway.url}/?user={user}")
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        return page

    try:
        yield open_as
    finally:
        for context in contexts:
            context.close()


@pytest.fixture(scope="module")
def uploads(
    browser: Browser, gateway: HttpGateway, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, str]]:
    """Ada's photo and Bob's photo, each uploaded through the page and indexed: ids, names."""
    folder = tmp_path_factory.mktemp("owners")
    found: dict[str, dict[str, str]] = {}
    for user, seed in (("ada", 21), ("bob", 22)):
        photo = folder / f"{user}-photo.jpg"
        photo.write_bytes(images.jpeg(640, 480, seed=seed))
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{gateway.url}/?user={user}")
            page.wait_for_selector("body[data-ready=true]", timeout=30_000)
            page.set_input_files("[data-testid=file-input]", str(photo))
            card = page.locator("[data-testid=upload]").filter(has_text=photo.name)
            expect(card).to_have_attribute("data-state", "indexed", timeout=INDEXED_TIMEOUT_MS)
            asset = card.get_attribute("data-asset-id")
            assert asset is not None
            found[user] = {"asset_id": asset, "filename": photo.name}
        finally:
            context.close()
    return found


_CALL = """
async ({path}) => {
  const token = (await (await fetch("/local-auth/token", {
    method: "POST", body: JSON.stringify({subject: document.body.dataset.user}),
  })).json()).access_token;
  const response = await fetch(path, {headers: {authorization: `Bearer ${token}`}});
  return {status: response.status, body: await response.json()};
}
"""


def _gallery(page: Page) -> set[str]:
    items = page.locator("[data-testid=asset]")
    return {str(items.nth(n).get_attribute("data-asset-id")) for n in range(items.count())}


def test_each_user_sees_only_their_own_uploads_in_the_gallery(
    signed_in: Callable[[str], Page], uploads: dict[str, dict[str, str]], pipeline: Pipeline
) -> None:
    index = AssetIndex(pipeline.target.dynamodb, pipeline.target.index_table)
    for user, other, owner in (("ada", "bob", ADA), ("bob", "ada", BOB)):
        # Given the user signed in on the page
        page = signed_in(user)
        expect(page.locator("[data-testid=session]")).to_contain_text(f"Signed in as {user}")
        # Then their own upload is in their gallery and the other's is not
        mine = page.locator(f"[data-testid=asset][data-asset-id='{uploads[user]['asset_id']}']")
        expect(mine).to_be_visible(timeout=30_000)
        shown = _gallery(page)
        assert uploads[other]["asset_id"] not in shown
        # and nothing in it is anyone else's (the session's other tests upload as local-user)
        for asset in shown:
            record = index.get(asset)
            assert record is not None
            assert record.owner == owner, (user, asset, record.owner)
        expect(page.locator("[data-testid=gallery]")).not_to_contain_text(
            uploads[other]["filename"]
        )


def test_a_copied_asset_url_of_another_users_asset_gives_404(
    signed_in: Callable[[str], Page], uploads: dict[str, dict[str, str]], pipeline: Pipeline
) -> None:
    ada = uploads["ada"]["asset_id"]
    record = AssetIndex(pipeline.target.dynamodb, pipeline.target.index_table).get(ada)
    assert record is not None
    upload = record.item["ingested"]["data"]["upload"]
    assert upload["key"].startswith(f"incoming/{ADA}/")
    by_upload = f"/assets/by-upload?key={upload['key']}&version_id={upload['version_id']}"
    # Given Bob signed in, when his page asks for Ada's asset by id or by her upload
    bob = signed_in("bob")
    for path in (f"/assets/{ada}", by_upload):
        answer = bob.evaluate(_CALL, {"path": path})
        # Then it is a 404 that shows nothing of it (an id nobody has answers the same)
        assert answer["status"] == 404, answer
        assert "thumbnails" not in answer["body"]
    unknown = bob.evaluate(_CALL, {"path": f"/assets/{'f' * 32}"})
    mine = bob.evaluate(_CALL, {"path": f"/assets/{ada}"})
    assert {k: v for k, v in mine["body"].items() if k != "asset_id"} == {
        k: v for k, v in unknown["body"].items() if k != "asset_id"
    }
    # while Ada, with the same URLs, gets her asset and its thumbnails
    ada_page = signed_in("ada")
    for path in (f"/assets/{ada}", by_upload):
        answer = ada_page.evaluate(_CALL, {"path": path})
        assert answer["status"] == 200, answer
        assert answer["body"]["asset_id"] == ada
        assert answer["body"]["thumbnails"]


_FORGE = """
async ({override}) => {
  const file = new Blob(["not really a jpeg"], {type: "image/jpeg"});
  const token = (await (await fetch("/local-auth/token", {
    method: "POST", body: JSON.stringify({subject: "bob"}),
  })).json()).access_token;
  const asked = await fetch("/uploads", {
    method: "POST",
    headers: {"content-type": "application/json", authorization: `Bearer ${token}`},
    body: JSON.stringify({filename: "forged.jpg", content_type: "image/jpeg", size: file.size,
                          owner: override.owner}),
  });
  const grant = await asked.json();
  const fields = {...grant.fields};
  if (override.key) fields.key = override.key.replace("<token>", grant.key.split("/")[2]);
  if (override.meta) fields["x-amz-meta-owner"] = override.meta;
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append("file", file);
  const posted = await fetch(grant.url, {method: "POST", body: form});
  return {key: grant.key, status: posted.status, body: await posted.text()};
}
"""


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ({"key": f"incoming/{ADA}/<token>/forged.jpg"}, "Policy Condition failed"),
        ({"key": "incoming/forged.jpg"}, "Policy Condition failed"),
        ({"meta": ADA}, "Extra input fields"),
    ],
    ids=["key-under-another-owner", "key-without-owner", "owner-metadata-field"],
)
def test_the_bucket_refuses_a_form_that_uploads_as_someone_else(
    signed_in: Callable[[str], Page], pipeline: Pipeline, override: dict[str, str], says: str
) -> None:
    # Given Bob's grant, when his page posts it with Ada's owner id (or none) in the form
    page = signed_in("bob")
    answer = page.evaluate(_FORGE, {"override": override})
    # Then the bucket refuses it, and nothing was stored under Ada's id
    assert answer["status"] == 403, answer
    assert says in answer["body"]
    s3 = pipeline.target.s3
    listing = s3.list_object_versions(Bucket=pipeline.target.bucket("uploads"), Prefix="incoming/")
    keys = [v["Key"] for v in listing.get("Versions", [])]
    assert not [key for key in keys if key.endswith("forged.jpg")]


def test_a_client_supplied_owner_is_ignored(signed_in: Callable[[str], Page]) -> None:
    page = signed_in("bob")
    answer = page.evaluate(_FORGE, {"override": {"owner": ADA}})
    assert answer["key"].startswith(f"incoming/{BOB}/"), answer
    assert answer["status"] in {200, 204}, answer


def test_the_operator_scope_reads_every_owners_assets(
    page: Page, gateway: HttpGateway, uploads: dict[str, dict[str, str]]
) -> None:
    token = gateway.issuer.mint("operator-on-call", scopes=[LOCAL_OPERATOR_SCOPE])
    answer: dict[str, Any] = page.evaluate(
        """async ({token}) => {
          const r = await fetch("/assets?limit=100", {headers: {authorization: `Bearer ${token}`}});
          return {status: r.status, body: await r.json()};
        }""",
        {"token": token},
    )
    assert answer["status"] == 200
    listed = {a["asset_id"] for a in answer["body"]["assets"]}
    assert {uploads["ada"]["asset_id"], uploads["bob"]["asset_id"]} <= listed


def test_the_page_forbids_scripts_from_anywhere_but_its_own_origin(page: Page) -> None:
    policy = page.locator("meta[http-equiv=Content-Security-Policy]").get_attribute("content")
    assert policy is not None
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    ran = page.evaluate(
        """() => {
          window.injected = false;
          const script = document.createElement("script");
          script.textContent = "window.injected = true";
          document.body.append(script);
          return window.injected;
        }"""
    )
    assert ran is False
