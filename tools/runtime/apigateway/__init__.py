"""API Gateway (HTTP APIs), locally: the deployed routes served on loopback, with the web page.

What is public here is what the runtime's CLI, the local stack and the tests use; the modules
behind it are this package's own (``tests/unit/test_runtime_layout.py``):

* :class:`HttpGateway` (``gateway.py``): the server; routes, authorizer, permission, then the
  function through :meth:`LocalRuntime.invoke <tools.runtime.awslambda.LocalRuntime.invoke>`
  (the Lambda emulation's one pool per function); the local issuer's endpoints; the page.
* :class:`Route`, :func:`discover_routes`, :func:`best_route` (``routes.py``): the deployed
  routes and which one takes a request.
* :class:`HttpRequest`, :class:`HttpResponse`, :func:`api_event`, :func:`proxy_response`
  (``payload.py``): payload format 2.0 both ways.
* :func:`cors_headers` (``cors.py``): API Gateway's CORS for an API's ``CorsConfiguration``.
* :class:`JwtAuthorizer`, :class:`KeySets`, :class:`AuthorizationError` (``authorizer.py``):
  the JWT authorizer, on joserfc.
* :class:`LocalIssuer`, :data:`LOCAL_JWT_ISSUER`, :data:`LOCAL_JWT_AUDIENCE` (``issuer.py``):
  the local stack's identity provider.
"""

from tools.runtime.apigateway.authorizer import (
    AuthorizationError,
    JwtAuthorizer,
    KeySets,
    claims_for_lambda,
)
from tools.runtime.apigateway.cors import cors_headers
from tools.runtime.apigateway.gateway import (
    DEFAULT_FUNCTION_CONCURRENCY,
    DEFAULT_HOST,
    DEFAULT_PORT,
    WEB_ROOT,
    HttpGateway,
)
from tools.runtime.apigateway.issuer import (
    DEFAULT_TOKEN_SECONDS,
    LOCAL_JWT_AUDIENCE,
    LOCAL_JWT_ISSUER,
    LocalIssuer,
)
from tools.runtime.apigateway.payload import HttpRequest, HttpResponse, api_event, proxy_response
from tools.runtime.apigateway.routes import Route, best_route, discover_routes

__all__ = [
    "DEFAULT_FUNCTION_CONCURRENCY",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_TOKEN_SECONDS",
    "LOCAL_JWT_AUDIENCE",
    "LOCAL_JWT_ISSUER",
    "WEB_ROOT",
    "AuthorizationError",
    "HttpGateway",
    "HttpRequest",
    "HttpResponse",
    "JwtAuthorizer",
    "KeySets",
    "LocalIssuer",
    "Route",
    "api_event",
    "best_route",
    "claims_for_lambda",
    "cors_headers",
    "discover_routes",
    "proxy_response",
]
