"""Every read is the caller's own: two users, an unowned upload, an operator, a forged token.

Ada's and Bob's assets are indexed from facts the way ingest states them (``owner`` in
AssetIngested/AssetRejected); an unowned one came from the operator CLI (no owner). Each caller
sees only their own assets through every route; another owner's asset answers exactly what an
unknown one answers; the operator scope sees everything and each of its reads is logged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config

from indexer.logic import Indexer
from indexer.read_api import Gallery, ReadApiSettings, build_app
from media_shared import InboundEvent, SchemaCatalog
from media_shared.ids import asset_id
from media_shared.index import AssetIndex
from media_shared.ownership import owner_id
from tests.support.apigw import http_event, json_body
from tests.support.aws import DERIVED, REGION, UPLOADS, FakeLambdaContext

CONTEXT = FakeLambdaContext.of("indexer")
ISSUER = "https://issuer.example"
OPERATOR_SCOPE = "media/operator"
ADA, BOB = owner_id(ISSUER, "ada"), owner_id(ISSUER, "bob")
VERSION = "v1"


def upload_key(owner: str | None, name: str) -> str:
    return f"incoming/{owner}/{'0' * 32}/{name}" if owner else f"incoming/{name}"


def asset_of(owner: str | None, name: str) -> str:
    return asset_id(UPLOADS, upload_key(owner, name), VERSION)


ASSETS = {
    "ada-1": (ADA, "a1.jpg"),
    "ada-2": (ADA, "a2.jpg"),
    "bob-1": (BOB, "b1.jpg"),
    "cli": (None, "cli.jpg"),
}
IDS = {label: asset_of(owner, name) for label, (owner, name) in ASSETS.items()}


@pytest.fixture
def queries(aws: Any) -> list[dict[str, Any]]:
    """Every DynamoDB call the read API makes: (operation, index); a Scan fails the test."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "Scan":
            raise AssertionError("the read API must never scan the table")
        calls.append({"operation": model.name, "index": params.get("IndexName")})

    aws.dynamodb.meta.events.register("provide-client-params.dynamodb", record)
    return calls


@pytest.fixture
def app(
    aws: Any,
    make_indexer: Callable[..., Indexer],
    catalog: SchemaCatalog,
    make_facts: Callable[[str], Any],
    queries: list[dict[str, Any]],
    index_once: Callable[[str, Callable[[], None]], None],
) -> Any:
    aws.s3.create_bucket(Bucket=DERIVED)
    indexer = make_indexer()

    def deliver(event: dict[str, Any]) -> None:
        indexer(InboundEvent(event=event, schema=catalog.validate(event)))

    def deliver_all() -> None:
        for number, (label, (owner, name)) in enumerate(ASSETS.items()):
            asset = IDS[label]
            facts = make_facts(asset)
            ownership = {"owner": owner} if owner else {}
            upload = {"bucket": UPLOADS, "key": upload_key(owner, name), "version_id": VERSION}
            deliver(facts.ingested(upload=upload, **ownership))
            deliver(facts.metadata())
            deliver(
                facts.thumbnails(
                    time=f"2026-11-23T10:00:0{number}.000Z",
                    renditions=[
                        {
                            "size": 256,
                            "bucket": DERIVED,
                            "key": f"thumbnails/{asset}/256.webp",
                            "width": 256,
                            "height": 192,
                            "format": "webp",
                            "content_type": "image/webp",
                            "bytes": 2560,
                        }
                    ],
                )
            )
        rejected = make_facts(asset_of(BOB, "notes.jpg"))
        deliver(rejected.rejected(owner=BOB))

    index_once("app", deliver_all)
    queries.clear()
    settings = ReadApiSettings(
        index_table=aws.table,
        derived_bucket=DERIVED,
        uploads_bucket=UPLOADS,
        operator_scope=OPERATOR_SCOPE,
    )
    s3v4 = boto3.client("s3", region_name=REGION, config=Config(signature_version="s3v4"))
    return build_app(Gallery(AssetIndex(aws.dynamodb, aws.table), s3v4, settings))


def call(app: Any, path: str, who: str | None, **kwargs: Any) -> tuple[int, Any]:
    route = "GET /assets/{asset_id}" if path.count("/") == 2 and "by-upload" not in path else None
    event = http_event("GET", path, route=route, subject=who, **kwargs)
    response = app.resolve(event, CONTEXT)
    return response["statusCode"], json_body(response)


def listed(app: Any, who: str, **kwargs: Any) -> set[str]:
    status, body = call(app, "/assets", who, **kwargs)
    assert status == 200, body
    return {asset["asset_id"] for asset in body["assets"]}


def test_each_user_lists_only_their_own_assets_through_the_owner_index(
    app: Any, queries: list[dict[str, Any]]
) -> None:
    assert listed(app, "ada") == {IDS["ada-1"], IDS["ada-2"]}
    assert listed(app, "bob") == {IDS["bob-1"]}
    assert listed(app, "bob", query={"status": "rejected"}) == {asset_of(BOB, "notes.jpg")}
    assert listed(app, "carol") == set()
    assert {(q["operation"], q["index"]) for q in queries} == {("Query", "by_owner")}


def test_the_same_subject_of_another_issuer_is_someone_else(app: Any) -> None:
    assert listed(app, "ada", issuer="https://other-issuer.example") == set()


def test_another_owners_asset_answers_exactly_what_an_unknown_one_answers(app: Any) -> None:
    # Given Ada's asset, and an id nobody has
    for asset in (IDS["ada-1"], IDS["cli"], "f" * 32):
        # When Bob asks for it by id
        status, body = call(app, f"/assets/{asset}", "bob")
        # Then the answer is the unknown asset's 404, which confirms nothing
        assert (status, body) == (
            404,
            {"reason": "not_found", "message": "no such asset in the index", "asset_id": asset},
        )
    # while Ada gets hers
    status, body = call(app, f"/assets/{IDS['ada-1']}", "ada")
    assert status == 200
    assert body["asset_id"] == IDS["ada-1"]
    assert body["thumbnails"][0]["url"]


def test_another_owners_upload_cannot_be_followed(app: Any) -> None:
    query = {"key": upload_key(ADA, "a1.jpg"), "version_id": VERSION}
    status, body = call(app, "/assets/by-upload", "bob", query=query)
    assert status == 404
    assert body["asset_id"] == IDS["ada-1"]
    assert "thumbnails" not in body
    status, body = call(app, "/assets/by-upload", "ada", query=query)
    assert status == 200
    assert body["asset_id"] == IDS["ada-1"]


def test_no_route_gives_a_foreign_token_anything_of_another_owner(app: Any) -> None:
    # Every route, with Bob's token, for each of Ada's assets and the unowned one
    for label in ("ada-1", "ada-2", "cli"):
        owner, name = ASSETS[label]
        asset = IDS[label]
        answers = [
            call(app, "/assets", "bob", query={"status": status, "limit": "100"})
            for status in ("indexed", "pending", "rejected", "failed")
        ]
        answers.append(call(app, f"/assets/{asset}", "bob"))
        answers.append(
            call(
                app,
                "/assets/by-upload",
                "bob",
                query={"key": upload_key(owner, name), "version_id": VERSION},
            )
        )
        for status, body in answers:
            text = json.dumps(body)
            assert f"thumbnails/{asset}/" not in text, (label, status)
            assert name not in text, (label, status)
            if status == 200 and "assets" in body:
                assert asset not in {a["asset_id"] for a in body["assets"]}
            else:
                assert status == 404, (label, status, body)


def test_the_operator_scope_reads_everything_and_each_read_is_logged(
    app: Any, queries: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    scope = f"openid {OPERATOR_SCOPE}"
    everything = {IDS["ada-1"], IDS["ada-2"], IDS["bob-1"], IDS["cli"]}
    assert listed(app, "ops", scope=scope) == everything
    assert ("Query", "by_status") in {(q["operation"], q["index"]) for q in queries}
    status, body = call(app, f"/assets/{IDS['cli']}", "ops", scope=scope)
    assert (status, body["asset_id"]) == (200, IDS["cli"])
    reads = [vars(r) for r in caplog.records if r.getMessage() == "operator read"]
    assert [(r["route"], r["caller_subject"], r["caller_issuer"]) for r in reads] == [
        ("GET /assets", "ops", ISSUER),
        ("GET /assets/{asset_id}", "ops", ISSUER),
    ]
    assert reads[0]["count"] == 4
    assert reads[1]["asset_id"] == IDS["cli"]
    assert all(r["caller"] == owner_id(ISSUER, "ops") for r in reads)


def test_a_scope_that_is_not_the_configured_one_reads_only_its_own(app: Any) -> None:
    assert listed(app, "ops", scope="media/operators operator admin") == set()


def test_without_a_configured_operator_scope_nobody_is_operator(aws: Any) -> None:
    settings = ReadApiSettings.from_env(
        {"INDEX_TABLE": "t", "DERIVED_BUCKET": "d", "UPLOADS_BUCKET": "u", "OPERATOR_SCOPE": " "}
    )
    assert settings.operator_scope is None
    assert (
        ReadApiSettings.from_env(
            {
                "INDEX_TABLE": "t",
                "DERIVED_BUCKET": "d",
                "UPLOADS_BUCKET": "u",
                "OPERATOR_SCOPE": "ops",
            }
        ).operator_scope
        == "ops"
    )


def test_a_token_without_an_issuer_is_refused(app: Any) -> None:
    event = http_event("GET", "/assets", subject="ada")
    del event["requestContext"]["authorizer"]["jwt"]["claims"]["iss"]
    response = app.resolve(event, CONTEXT)
    assert response["statusCode"] == 401
