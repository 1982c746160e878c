"""An upload read back through the read API, as the gallery reads it: by its owner, and only so.

The file goes to the uploads bucket under its owner's id (``<prefix><owner>/<random>/<name>``,
the key the upload API would presign for that person's token), the pipeline indexes it, and the
read API answers with it: indexed, its dimensions, thumbnails behind presigned URLs that load,
listed in the owner's gallery, and a 404 for anyone else. Runs on the session's local stack and,
through ``make test-deployed``, against a deployed environment (``tests.support.deployment``).
"""

from __future__ import annotations

import io
import time
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest
from PIL import Image

from tests.e2e.conftest import Deployment
from tests.support import images
from tests.support.deployment import http, owner_of_token
from tools.cli.uploads import Upload, upload

pytestmark = pytest.mark.e2e
INDEXED_TIMEOUT = 120


@pytest.fixture(scope="module")
def owned(
    deployment: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Upload, dict[str, Any]]:
    """One photo of person 0, and what the read API answers about it once it is indexed."""
    token = deployment.token(0)
    deployment.read_api()  # skips before uploading anything when there is no read API
    photo = tmp_path_factory.mktemp("owned") / "owned.jpg"
    photo.write_bytes(images.jpeg(640, 480, seed=21, exif=images.camera_exif()))
    prefix = f"e2e/{owner_of_token(token)}/{uuid.uuid4().hex}/"
    (done,) = upload(deployment.target, [photo], prefix=prefix)
    query = urllib.parse.urlencode({"key": done.key, "version_id": done.version_id or ""})
    deadline = time.monotonic() + INDEXED_TIMEOUT
    while True:
        answer = deployment.get(f"/assets/by-upload?{query}")
        found = answer.json() if answer.status == 200 else {}
        if found.get("status") == "indexed" and found.get("thumbnails"):
            return done, found
        assert answer.status in (200, 404), answer
        if time.monotonic() > deadline:
            raise AssertionError(f"not indexed with thumbnails after {INDEXED_TIMEOUT}s: {answer}")
        time.sleep(1)


def test_the_owner_reads_the_indexed_upload_with_thumbnails_that_load(
    owned: tuple[Upload, dict[str, Any]],
) -> None:
    done, asset = owned
    assert asset["asset_id"] == done.asset_id
    assert (asset["width"], asset["height"]) == (640, 480)
    assert asset["camera_make"] == "FUJIFILM"
    smallest = asset["thumbnails"][0]
    with urllib.request.urlopen(smallest["url"], timeout=30) as response:  # presigned GET
        body = response.read()
    with Image.open(io.BytesIO(body)) as picture:
        assert max(picture.size) <= smallest["size"]


def test_the_owners_gallery_lists_it(
    deployment: Deployment, owned: tuple[Upload, dict[str, Any]]
) -> None:
    done, _ = owned
    answer = deployment.get("/assets?status=indexed&limit=100")
    assert answer.status == 200, answer
    assert done.asset_id in {a["asset_id"] for a in answer.json()["assets"]}


def test_another_person_gets_a_404_for_it_and_an_unsigned_call_a_401(
    deployment: Deployment, owned: tuple[Upload, dict[str, Any]]
) -> None:
    done, _ = owned
    assert deployment.get(f"/assets/{done.asset_id}", person=1).status == 404
    listed = deployment.get("/assets?status=indexed&limit=100", person=1)
    assert done.asset_id not in {a["asset_id"] for a in listed.json()["assets"]}
    assert http(f"{deployment.read_api()}/assets/{done.asset_id}").status == 401
