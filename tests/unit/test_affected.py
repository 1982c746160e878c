"""Change detection: which roots a diff must plan (tools.affected).

A table of diffs over the repository's own dependency graph, then one real git diff in a
temporary repository (a rename, a module used through another module, a removed rule).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tools.affected import (
    AffectedError,
    FileTree,
    GitTree,
    Graph,
    affected_between,
    affected_roots,
    build_graph,
    main,
)
from tools.package import service_names
from tools.patterns import load_rules

REPO = Path(__file__).resolve().parents[2]
# Every service, and the consumers of an event, read independently of tools.affected's graph (so a
# service added with `make new-service` joins the rows that must include it).
SERVICES = service_names(REPO)


def consumers(event: str) -> list[str]:
    return sorted({rule.service for rule in load_rules(REPO) if event in rule.detail_types})


def with_platform(*services: str) -> list[str]:
    return ["platform", *sorted(set(services))]


@pytest.fixture(scope="module")
def graph() -> Graph:
    return build_graph(FileTree(REPO))


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        # a service's folder -> its root only
        (["services/thumbnailer/thumbnailer/logic.py"], ["thumbnailer"]),
        (["services/indexer/infra/read_api.tf"], ["indexer"]),
        (["services/ingest/tests/test_logic.py", "docs/events.md"], ["ingest"]),
        # the shared library and what builds every zip -> every service
        (["shared/media_shared/publisher.py"], SERVICES),
        (["requirements/lambda.txt"], SERVICES),
        # a schema -> its producer, its consumers (rule files) and the platform's registry
        (
            ["schemas/events/ThumbnailsGenerated/v1.json"],
            with_platform("thumbnailer", *consumers("ThumbnailsGenerated")),
        ),
        (
            ["schemas/events/AssetIngested/examples/v1/valid-basic.json"],
            with_platform("ingest", *consumers("AssetIngested")),
        ),
        (
            ["schemas/events/AssetIndexed/v1.json"],
            with_platform("indexer", *consumers("AssetIndexed")),
        ),
        # ProcessingFailed is published by every service (its schema's source lists them all)
        (["schemas/events/ProcessingFailed/v1.json"], ["platform", *SERVICES]),
        # the envelope is in every schema -> every root that reads schemas
        (["schemas/envelope/v1.json"], ["platform", *SERVICES]),
        # a module -> the roots that call it
        (["infra/modules/http-api/main.tf"], ["indexer", "ingest"]),
        (["infra/modules/service/iam.tf"], SERVICES),
        (["infra/modules/event-bus/main.tf"], ["platform"]),
        # the file set linked into every service root -> every service root
        (["infra/service-root/service.tf"], SERVICES),
        # the platform; platform first, whatever the order of the diff
        (
            ["services/thumbnailer/infra/main.tf", "infra/platform/main.tf"],
            ["platform", "thumbnailer"],
        ),
        # nothing deployable
        (["README.md", "tools/cli/tail.py", ".github/workflows/pr.yml", "tests/e2e/x.py"], []),
        ([], []),
    ],
)
def test_a_diff_plans_exactly_the_roots_it_affects(
    graph: Graph, changed: list[str], expected: list[str]
) -> None:
    assert affected_roots(changed, graph) == expected


def test_a_deployable_change_that_maps_to_no_root_is_an_error(graph: Graph) -> None:
    # Given a module that no root calls (the graph cannot know who would deploy it)
    with pytest.raises(AffectedError, match=r"infra/modules/orphan/main\.tf"):
        affected_roots(["infra/modules/orphan/main.tf"], graph)
    # and code under services/ that belongs to no service
    with pytest.raises(AffectedError, match=r"services/common\.py"):
        affected_roots(["services/common.py", "README.md"], graph)


def test_a_new_event_nobody_uses_yet_is_planned_by_the_platform_registry(graph: Graph) -> None:
    assert affected_roots(["schemas/events/AssetArchived/v1.json"], graph) == ["platform"]


def test_documentation_of_a_deployable_folder_alone_is_not_an_error(graph: Graph) -> None:
    assert affected_roots(["infra/README.md", "services/README.md"], graph) == []


# --- a real git diff ---------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def _write(repo: Path, path: str, text: str) -> None:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text, encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small repository: a platform, two services, a module used through another module."""
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "test@example.com")
    _git(root, "config", "user.name", "test")
    _write(root, "infra/platform/main.tf", 'module "bus" {\n  source = "../modules/bus"\n}\n')
    _write(root, "infra/modules/bus/main.tf", "# the bus\n")
    _write(root, "infra/modules/svc/main.tf", 'module "alarms" {\n  source = "../alarms"\n}\n')
    _write(root, "infra/modules/alarms/main.tf", "# alarms\n")
    for name in ("alpha", "beta"):
        _write(
            root,
            f"services/{name}/infra/main.tf",
            'module "service" {\n  source = "../../../infra/modules/svc"\n}\n',
        )
        _write(root, f"services/{name}/{name}/logic.py", "VALUE = 1\n")
    _write(
        root,
        "services/beta/infra/rules/thing-done.json",
        json.dumps({"source": ["media.alpha"], "detail-type": ["ThingDone"]}),
    )
    _write(
        root,
        "schemas/events/ThingDone/v1.json",
        json.dumps({"properties": {"source": {"enum": ["media.alpha"]}}}),
    )
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    return root


def _commit(repo: Path, message: str) -> str:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", message)
    return _git(repo, "rev-parse", "HEAD")


def test_a_real_diff_finds_the_users_of_a_module_used_through_another(repo: Path) -> None:
    # Given a branch that changes the alarms module (called by svc, called by both services)
    base = _git(repo, "rev-parse", "HEAD")
    _write(repo, "infra/modules/alarms/main.tf", "# alarms, louder\n")
    head = _commit(repo, "alarms")
    # When change detection runs on the diff
    roots = [root.id for root in affected_between(repo, base, head)]
    # Then both services are planned, and the platform (which does not use it) is not
    assert roots == ["alpha", "beta"]


def test_a_real_diff_that_removes_a_rule_still_plans_its_consumer(repo: Path) -> None:
    # Given a change to the event's schema that also removes beta's rule for it
    base = _git(repo, "rev-parse", "HEAD")
    (repo / "services/beta/infra/rules/thing-done.json").unlink()
    _write(
        repo,
        "schemas/events/ThingDone/v1.json",
        json.dumps({"properties": {"source": {"enum": ["media.alpha"]}}, "x": 1}),
    )
    head = _commit(repo, "drop the rule")
    # Then beta (whose rule the base still had) is planned with the producer; the platform does
    # not read schemas in this repository
    assert [root.id for root in affected_between(repo, base, head)] == ["alpha", "beta"]


def test_the_command_prints_the_roots_platform_first_and_as_json(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _git(repo, "rev-parse", "HEAD")
    _write(repo, "services/beta/beta/logic.py", "VALUE = 2\n")
    _write(repo, "infra/platform/main.tf", 'module "bus" {\n  source = "../modules/bus"\n}\n#\n')
    head = _commit(repo, "two roots")
    assert main([base, head, "--repo", str(repo)]) == 0
    assert capsys.readouterr().out.split() == ["platform", "beta"]
    assert main([base, head, "--repo", str(repo), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {
            "root": "platform",
            "directory": "infra/platform",
            "state_key": "platform/terraform.tfstate",
        },
        {"root": "beta", "directory": "services/beta/infra", "state_key": "beta/terraform.tfstate"},
    ]


def test_the_command_refuses_an_unmapped_change_and_a_bad_revision(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _git(repo, "rev-parse", "HEAD")
    _write(repo, "infra/modules/unused/main.tf", "# nobody calls me\n")
    head = _commit(repo, "orphan")
    assert main([base, head, "--repo", str(repo)]) == 2
    assert "infra/modules/unused/main.tf" in capsys.readouterr().err
    assert main(["no-such-revision", head, "--repo", str(repo)]) == 2
    assert "no-such-revision" in capsys.readouterr().err


def test_an_empty_base_a_new_branch_plans_every_root(repo: Path) -> None:
    roots = affected_between(repo, "0" * 40, "HEAD")
    assert [root.id for root in roots] == ["platform", "alpha", "beta"]


def test_git_and_working_tree_graphs_agree_on_this_repository() -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    from_git = build_graph(GitTree(REPO, "HEAD"))
    from_disk = build_graph(FileTree(REPO))
    assert from_git.roots == from_disk.roots
    assert from_git.linked == from_disk.linked
    assert from_git.module_users == from_disk.module_users
