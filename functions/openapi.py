"""``GET /api/v1/openapi.json``: the API's OpenAPI document.

Anonymous, like ``/health``: the contract is public (it is in the repository), it names
no key, setting or data, and client generators and gateways fetch it without one.
"""

from __future__ import annotations

import azure.functions as func

from functions.api import respond

bp = func.Blueprint()


@bp.function_name("api_openapi")
@bp.route(route="v1/openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def openapi(req: func.HttpRequest) -> func.HttpResponse:
    from prism.openapi import openapi_document

    return respond(openapi_document())
