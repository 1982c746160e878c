"""Whose upload it is: ingest states the owner the upload key names, in every fact about it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ingest.logic import Ingestor
from ingest.ownership import owner_fields
from media_shared import Event, InboundEvent, SchemaCatalog
from media_shared.ownership import owner_id, owner_of_key
from tests.support.s3events import object_created

ADA = owner_id("https://issuer.example", "ada")
TOKEN = "0123456789abcdef" * 2


def deliver(aws: Any, ingestor: Ingestor, catalog: SchemaCatalog, key: str, body: bytes) -> Event:
    response = aws.put_upload(key, body)
    event = object_created(aws.uploads, key, size=len(body), version_id=response["VersionId"])
    (result,) = ingestor(InboundEvent(event=event, schema=None))
    catalog.validate(result.as_event())
    # a second delivery (the upload is gone by then) states the same fact, owner included
    (again,) = ingestor(InboundEvent(event=event, schema=None))
    assert again.data == result.data
    return result


def test_an_upload_under_an_owner_id_is_ingested_as_that_owners(
    aws: Any, make_ingestor: Callable[..., Ingestor], catalog: SchemaCatalog, jpeg_bytes: bytes
) -> None:
    # Given an upload at the key the upload API presigned for Ada
    key = f"incoming/{ADA}/{TOKEN}/cat.jpg"
    # When ingest handles it (and a duplicate delivery of it)
    ingested = deliver(aws, make_ingestor(), catalog, key, jpeg_bytes)
    # Then AssetIngested names Ada as its owner, at the latest minor version
    assert ingested.detail_type == "AssetIngested"
    assert ingested.data["owner"] == ADA
    assert ingested.detail["metadata"]["schema_version"] == catalog.latest("AssetIngested").version


def test_a_rejected_upload_under_an_owner_id_is_rejected_as_that_owners(
    aws: Any, make_ingestor: Callable[..., Ingestor], catalog: SchemaCatalog
) -> None:
    key = f"incoming/{ADA}/{TOKEN}/notes.jpg"
    rejected = deliver(aws, make_ingestor(), catalog, key, b"not an image at all")
    assert rejected.detail_type == "AssetRejected"
    assert rejected.data["owner"] == ADA


@pytest.mark.parametrize(
    "key",
    [
        "incoming/cat.jpg",  # mediactl upload
        "incoming/holiday/cat.jpg",
        f"incoming/{ADA}/cat.jpg",  # no random segment: not a key the upload API makes
        f"incoming/{ADA.upper()}/{TOKEN}/cat.jpg",
        f"incoming/u-{'0' * 31}/{TOKEN}/cat.jpg",
    ],
)
def test_an_upload_whose_key_names_no_owner_is_unowned(
    aws: Any,
    make_ingestor: Callable[..., Ingestor],
    catalog: SchemaCatalog,
    jpeg_bytes: bytes,
    key: str,
) -> None:
    ingested = deliver(aws, make_ingestor(), catalog, key, jpeg_bytes)
    assert "owner" not in ingested.data


def test_the_owner_is_read_from_the_key_whatever_the_prefix() -> None:
    assert owner_of_key(f"elsewhere/deeper/{ADA}/{TOKEN}/a b.png") == ADA
    assert owner_fields(f"incoming/{ADA}/{TOKEN}/x") == {"owner": ADA}
    assert owner_fields("incoming/x") == {}


def test_owner_ids_are_stable_and_differ_by_issuer_and_subject() -> None:
    assert owner_id("https://a.example", "ada") == owner_id("https://a.example", "ada")
    ids = {
        owner_id("https://a.example", "ada"),
        owner_id("https://a.example", "bob"),
        owner_id("https://b.example", "ada"),
    }
    assert len(ids) == 3
    with pytest.raises(ValueError, match="issuer and its subject"):
        owner_id("", "ada")
