"""The gallery's read API over records the indexer wrote: lists, one asset, an upload's asset.

Records are made by delivering facts to the real indexer; the table is queried through its
by_owner and by_status indexes and GetItem only (a Scan fails the test). The gallery's assets are
user-1's (``http_event``'s default caller); tests/indexer's test_read_scope.py covers other
callers.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config

from indexer.logic import Indexer
from indexer.read_api import Caller, Gallery, ReadApiSettings, build_app
from media_shared import InboundEvent, SchemaCatalog
from media_shared.ids import asset_id
from media_shared.index import AssetIndex
from media_shared.ownership import owner_id
from tests.support.apigw import http_event, json_body
from tests.support.aws import DERIVED, REGION, UPLOADS, FakeLambdaContext, handler_loader

CONTEXT = FakeLambdaContext.of("indexer")
ISSUER = "https://issuer.example"
USER = owner_id(ISSUER, "user-1")  # the caller http_event() signs in by default
UPLOAD_KEY = f"incoming/{USER}/0123456789abcdef0123456789abcdef/harbour.jpg"
UPLOAD_VERSION = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"


def renditions(asset: str, bucket: str = DERIVED) -> list[dict[str, Any]]:
    return [
        {
            "size": size,
            "bucket": bucket,
            "key": f"thumbnails/{asset}/{size}.webp",
            "width": size,
            "height": size * 3 // 4,
            "format": "webp",
            "content_type": "image/webp",
            "bytes": size * 10,
        }
        for size in (512, 256)
    ]


@pytest.fixture
def deliver(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog
) -> Callable[[dict[str, Any]], None]:
    indexer = make_indexer()

    def send(event: dict[str, Any]) -> None:
        indexer(InboundEvent(event=event, schema=catalog.validate(event)))

    return send


@pytest.fixture
def gallery(
    aws: Any,
    deliver: Callable[[dict[str, Any]], None],
    make_facts: Callable[[str], Any],
    index_once: Callable[[str, Callable[[], None]], None],
) -> Gallery:
    """Three indexed assets (updated one after the other), one pending, one rejected."""
    aws.s3.create_bucket(Bucket=DERIVED)

    def deliver_all() -> None:
        for number, asset in enumerate(("a" * 32, "b" * 32, "c" * 32)):
            facts = make_facts(asset)
            deliver(facts.ingested(time="2026-11-23T09:00:00.000Z", owner=USER))
            deliver(facts.metadata(time="2026-11-23T09:00:00.500Z"))
            deliver(
                facts.thumbnails(
                    time=f"2026-11-23T10:00:0{number}.000Z", renditions=renditions(asset)
                )
            )
        deliver(make_facts("d" * 32).ingested(owner=USER))
        deliver(make_facts("e" * 32).rejected(owner=USER))
        uploaded = asset_id(UPLOADS, UPLOAD_KEY, UPLOAD_VERSION)
        deliver(make_facts(uploaded).ingested(owner=USER))

    index_once("gallery", deliver_all)

    def no_scan(**_: Any) -> None:
        raise AssertionError("the read API must never scan the table")

    aws.dynamodb.meta.events.register("before-call.dynamodb.Scan", no_scan)
    settings = ReadApiSettings(
        index_table=aws.table, derived_bucket=DERIVED, uploads_bucket=UPLOADS
    )
    # SigV4, as the handler signs: presigned GETs of SSE-KMS objects must be.
    s3v4 = boto3.client("s3", region_name=REGION, config=Config(signature_version="s3v4"))
    return Gallery(AssetIndex(aws.dynamodb, aws.table), s3v4, settings)


def get(app: Any, path: str, query: dict[str, str] | None = None, **kwargs: Any) -> Any:
    route = kwargs.pop("route", None)
    response = app.resolve(http_event("GET", path, query=query, route=route, **kwargs), CONTEXT)
    return response["statusCode"], json_body(response)


def test_the_list_is_indexed_assets_newest_first_with_thumbnail_urls(gallery: Gallery) -> None:
    status, body = get(build_app(gallery), "/assets")
    assert status == 200
    assert body["status"] == "indexed"
    assert [a["asset_id"] for a in body["assets"]] == ["c" * 32, "b" * 32, "a" * 32]
    first = body["assets"][0]
    assert first["status"] == "indexed"
    assert first["width"]
    assert first["height"]
    assert first["camera_make"] == "FUJIFILM"
    assert first["metadata"]["exif"]["model"] == "X-T4"
    # smallest first, each a presigned GET of its own key in the derived bucket
    assert [t["size"] for t in first["thumbnails"]] == [256, 512]
    url = urllib.parse.urlsplit(first["thumbnails"][0]["url"])
    assert DERIVED in url.netloc + url.path
    assert url.path.endswith(f"thumbnails/{'c' * 32}/256.webp")
    query = urllib.parse.parse_qs(url.query)
    assert query["X-Amz-Expires"] == ["900"]
    assert "X-Amz-Signature" in query


def test_the_list_takes_a_status_and_a_limit(gallery: Gallery) -> None:
    app = build_app(gallery)
    status, body = get(app, "/assets", {"status": "rejected"})
    assert status == 200
    assert [a["asset_id"] for a in body["assets"]] == ["e" * 32]
    assert body["assets"][0]["reason"]
    status, body = get(app, "/assets", {"limit": "2"})
    assert [a["asset_id"] for a in body["assets"]] == ["c" * 32, "b" * 32]


@pytest.mark.parametrize(
    "query", [{"status": "everything"}, {"limit": "0"}, {"limit": "101"}, {"limit": "ten"}]
)
def test_a_bad_status_or_limit_is_a_400(gallery: Gallery, query: dict[str, str]) -> None:
    status, body = get(build_app(gallery), "/assets", query)
    assert status == 400
    assert body["reason"] == "bad_request"


def test_one_asset_is_found_by_id_and_an_unknown_one_is_a_404(gallery: Gallery) -> None:
    app = build_app(gallery)
    status, body = get(app, f"/assets/{'b' * 32}", route="GET /assets/{asset_id}")
    assert status == 200
    assert body["asset_id"] == "b" * 32
    assert len(body["thumbnails"]) == 2
    status, body = get(app, f"/assets/{'0' * 32}", route="GET /assets/{asset_id}")
    assert status == 404
    assert body["asset_id"] == "0" * 32
    status, body = get(app, "/assets/not-an-id", route="GET /assets/{asset_id}")
    assert status == 400


def test_an_upload_is_followed_to_its_asset_by_key_and_version(gallery: Gallery) -> None:
    app = build_app(gallery)
    expected = asset_id(UPLOADS, UPLOAD_KEY, UPLOAD_VERSION)
    query = {"key": UPLOAD_KEY, "version_id": UPLOAD_VERSION}
    status, body = get(app, "/assets/by-upload", query)
    assert status == 200
    assert body["asset_id"] == expected
    assert body["status"] == "pending"
    # a version the index has not heard of yet: 404, with the id it will have
    other = {"key": UPLOAD_KEY, "version_id": "another-version"}
    status, body = get(app, "/assets/by-upload", other)
    assert status == 404
    assert body["asset_id"] == asset_id(UPLOADS, UPLOAD_KEY, "another-version")
    status, body = get(app, "/assets/by-upload", {})
    assert status == 400


def test_a_pending_asset_has_no_thumbnails_yet(gallery: Gallery) -> None:
    status, body = get(build_app(gallery), "/assets", {"status": "pending"})
    assert status == 200
    assert {a["asset_id"] for a in body["assets"]} >= {"d" * 32}
    assert all(a["thumbnails"] == [] for a in body["assets"])


def test_renditions_outside_the_assets_own_thumbnails_are_not_signed(
    aws: Any, deliver: Callable[[dict[str, Any]], None], make_facts: Callable[[str], Any]
) -> None:
    asset = "9" * 32
    facts = make_facts(asset)
    deliver(facts.ingested(owner=USER))
    deliver(facts.metadata())
    foreign = renditions(asset, bucket="someone-elses-bucket")
    # and keys in the derived bucket that are not this asset's thumbnails
    foreign += [
        {**rendition, "key": key}
        for rendition, key in zip(
            renditions(asset),
            [f"thumbnails/{'8' * 32}/256.webp", f"originals/{asset}"],
            strict=True,
        )
    ]
    deliver(facts.thumbnails(renditions=foreign))
    settings = ReadApiSettings(index_table=aws.table, derived_bucket=DERIVED, uploads_bucket="u")
    caller = Caller(issuer=ISSUER, subject="user-1", owner=USER)
    found = Gallery(AssetIndex(aws.dynamodb, aws.table), aws.s3, settings).get(asset, caller)
    assert found is not None
    assert found["thumbnails"] == []


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/assets", None),
        (f"/assets/{'a' * 32}", "GET /assets/{asset_id}"),
        ("/assets/by-upload", None),
    ],
)
def test_every_route_refuses_a_request_without_the_authorizers_subject(
    gallery: Gallery, path: str, route: str | None
) -> None:
    status, body = get(build_app(gallery), path, {"key": "k"}, route=route, subject=None)
    assert status == 401
    assert body["reason"] == "unauthorized"


@pytest.fixture
def read_handler(monkeypatch: pytest.MonkeyPatch, gallery: Gallery) -> ModuleType:
    env = {
        "POWERTOOLS_SERVICE_NAME": "indexer",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "INDEX_TABLE": gallery.settings.index_table,
        "DERIVED_BUCKET": DERIVED,
        "UPLOADS_BUCKET": UPLOADS,
        "THUMBNAIL_URL_EXPIRES_SECONDS": "60",
    }
    return handler_loader(monkeypatch, "indexer.read_handler", env)()


def test_the_lambda_handler_answers_api_gateway(read_handler: ModuleType) -> None:
    response = read_handler.lambda_handler(http_event("GET", "/assets"), CONTEXT)
    assert response["statusCode"] == 200
    assets = json_body(response)["assets"]
    assert len(assets) == 3
    url = assets[0]["thumbnails"][0]["url"]
    assert "X-Amz-Expires=60" in url
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    assert isinstance(read_handler.s3.meta.config, Config)
