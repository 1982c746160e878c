"""make new-service refuses what it cannot generate, before writing anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.scaffold.generate import ScaffoldError, Spec, scaffold

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (Spec("thumbnailer", ("AssetIngested",), "ThingDone"), "exists already"),
        (Spec("Bad_Name", ("AssetIngested",), "ThingDone"), "lower-case words"),
        (Spec("new-one", (), "ThingDone"), "at least one rule"),
        (Spec("new-one", ("AssetArchived",), "ThingDone"), "AssetArchived has no schema"),
        (Spec("new-one", ("AssetIngested",), "thing"), "not an event name"),
        (Spec("new-one", ("AssetIngested",), "AssetIngested"), "both consumed and produced"),
    ],
)
def test_a_bad_request_is_refused_and_nothing_is_written(spec: Spec, message: str) -> None:
    before = sorted(p.name for p in (REPO / "services").iterdir())
    with pytest.raises(ScaffoldError, match=message):
        scaffold(spec, REPO)
    assert sorted(p.name for p in (REPO / "services").iterdir()) == before


def test_the_names_follow_from_the_service_name() -> None:
    spec = Spec("audio-tagger", ("AssetIngested",), "AudioTagged")
    assert (spec.package, spec.camel) == ("audio_tagger", "AudioTagger")
