"""The browser-facing APIs as Terraform deployed them to the local stack, read back from its APIs.

What the page relies on, and what keeps it safe: every route behind the JWT authorizer of the
configured issuer; each function invocable by API Gateway for its own routes only; the upload
API's role outside the services' IAM path and allowed to sign nothing but new uploads; the read
API's role reading and signing only; the uploads bucket's CORS letting the local page post.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.stack import Pipeline
from tools.runtime.apigateway import LOCAL_JWT_AUDIENCE, LOCAL_JWT_ISSUER

pytestmark = pytest.mark.e2e

APIS = {
    "media-local-ingest-upload-api": {"POST /uploads"},
    "media-local-indexer-read-api": {
        "GET /assets",
        "GET /assets/by-upload",
        "GET /assets/{asset_id}",
    },
}


@pytest.fixture(scope="module")
def deployed(pipeline: Pipeline) -> dict[str, dict[str, Any]]:
    apigateway = pipeline.target.client("apigatewayv2")
    found: dict[str, dict[str, Any]] = {}
    for api in apigateway.get_apis()["Items"]:
        routes = apigateway.get_routes(ApiId=api["ApiId"])["Items"]
        authorizers = {
            route["AuthorizerId"]: apigateway.get_authorizer(
                ApiId=api["ApiId"], AuthorizerId=route["AuthorizerId"]
            )
            for route in routes
            if route.get("AuthorizerId")
        }
        found[api["Name"]] = {"api": api, "routes": routes, "authorizers": authorizers}
    return found


def _role_policy(pipeline: Pipeline, function: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    iam = pipeline.target.client("iam")
    arn = pipeline.target.lambda_.get_function_configuration(FunctionName=function)["Role"]
    role = iam.get_role(RoleName=arn.rsplit("/", 1)[-1])["Role"]
    statements: list[dict[str, Any]] = []
    for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]
        if isinstance(document, str):
            document = json.loads(document)
        statements.extend(document["Statement"])
    return role, statements


def test_every_route_of_both_apis_is_behind_the_jwt_authorizer_of_the_issuer(
    deployed: dict[str, dict[str, Any]],
) -> None:
    assert set(APIS) <= set(deployed)
    for name, keys in APIS.items():
        routes = deployed[name]["routes"]
        assert {route["RouteKey"] for route in routes} == keys
        for route in routes:
            assert route["AuthorizationType"] == "JWT", route
            authorizer = deployed[name]["authorizers"][route["AuthorizerId"]]
            assert authorizer["AuthorizerType"] == "JWT"
            assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
            assert authorizer["JwtConfiguration"] == {
                "Issuer": LOCAL_JWT_ISSUER,
                "Audience": [LOCAL_JWT_AUDIENCE],
            }


def test_api_gateway_may_invoke_each_function_for_its_own_routes_only(
    pipeline: Pipeline, deployed: dict[str, dict[str, Any]]
) -> None:
    for name, keys in APIS.items():
        api_id = deployed[name]["api"]["ApiId"]
        policy = json.loads(pipeline.target.lambda_.get_policy(FunctionName=name)["Policy"])
        sources = set()
        for statement in policy["Statement"]:
            assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
            assert statement["Action"] == "lambda:InvokeFunction"
            sources.add(statement["Condition"]["ArnLike"]["AWS:SourceArn"])
        expected = {
            f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/{key.split()[0]}"
            + key.split()[1].replace("{asset_id}", "*")
            for key in keys
        }
        assert sources == expected


def test_the_upload_apis_role_may_sign_new_uploads_and_nothing_else(pipeline: Pipeline) -> None:
    role, statements = _role_policy(pipeline, "media-local-ingest-upload-api")
    uploads = pipeline.target.bucket("uploads")
    # not under .../services/, which the uploads bucket policy refuses object writes to
    assert role["Path"] == "/media-pipeline/local/uploaders/"
    s3 = [s for s in statements if any(a.startswith("s3:") for a in _list(s["Action"]))]
    assert s3 == [
        {
            "Sid": "PresignNewUploadsOnly",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{uploads}/incoming/*",
        }
    ]
    others = {a for s in statements for a in _list(s["Action"])} - {"s3:PutObject"}
    assert others <= {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }


def test_the_read_apis_role_only_reads_the_index_and_thumbnails(pipeline: Pipeline) -> None:
    _, statements = _role_policy(pipeline, "media-local-indexer-read-api")
    table = pipeline.target.index_table
    derived = pipeline.target.bucket("derived")
    granted = {
        (action, resource)
        for s in statements
        if s["Effect"] == "Allow"
        for action in _list(s["Action"])
        for resource in _list(s["Resource"])
        if not action.startswith(("logs:", "xray:"))
    }
    assert granted == {
        ("dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}"),
        (
            "dynamodb:Query",
            f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/index/by_status",
        ),
        (
            "dynamodb:Query",
            f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/index/by_owner",
        ),
        ("s3:GetObject", f"arn:aws:s3:::{derived}/thumbnails/*"),
    }


def test_the_uploads_bucket_lets_a_page_on_loopback_post_and_read_the_version(
    pipeline: Pipeline,
) -> None:
    rules = pipeline.target.s3.get_bucket_cors(Bucket=pipeline.target.bucket("uploads"))
    (rule,) = rules["CORSRules"]
    assert "POST" in rule["AllowedMethods"]
    assert set(rule["AllowedOrigins"]) == {"http://localhost:*", "http://127.0.0.1:*"}
    assert "x-amz-version-id" in rule["ExposeHeaders"]


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]
