"""The Prism console: its page and static files, and the JSON views only it needs
(uploads, counters, lifecycle). Function-level auth like the rest of the API; the
page takes the key from its own ``?code=`` and sends it with every call."""

from __future__ import annotations

import azure.functions as func

from functions.api import respond, translate_errors

bp = func.Blueprint()


def _key(req: func.HttpRequest) -> str | None:
    key: str | None = req.params.get("code") or req.headers.get("x-functions-key")
    return key


def _path(req: func.HttpRequest) -> str:
    from urllib.parse import urlsplit

    return str(urlsplit(req.url).path)


@bp.function_name("console_page")
@bp.route(route="console", methods=["GET"])
@translate_errors
async def page(req: func.HttpRequest) -> func.HttpResponse:
    from prism.console.assets import page as console_page

    html = console_page(_path(req), _key(req))
    return func.HttpResponse(html.body, headers=html.headers, mimetype="text/html")


@bp.function_name("console_asset")
@bp.route(route="console/{name}", methods=["GET"])
@translate_errors
async def asset(req: func.HttpRequest) -> func.HttpResponse:
    from prism.console.assets import asset as console_asset

    found = console_asset(req.route_params["name"])
    return func.HttpResponse(
        found.body, headers=found.headers, mimetype=found.content_type.split(";")[0]
    )


@bp.function_name("api_files")
@bp.route(route="v1/files", methods=["POST"])
@translate_errors
async def upload(req: func.HttpRequest) -> func.HttpResponse:
    from prism.client import connect
    from prism.console.uploads import upload_file
    from prism.http_contract import UploadParameters
    from prism.limits import read_within_limit
    from prism.threads import in_storage

    parameters = UploadParameters.from_params(req.params)
    client = connect()
    body = read_within_limit(
        req.headers.get("content-length"), req.get_body, client.settings.max_bytes_overall
    )
    uploaded = await in_storage(upload_file, client, parameters.name, body)
    return respond(uploaded, 202)


@bp.function_name("api_stats")
@bp.route(route="v1/stats", methods=["GET"])
@translate_errors
async def stats(req: func.HttpRequest) -> func.HttpResponse:
    from prism.client import connect
    from prism.console.stats import collect_stats
    from prism.threads import in_storage

    client = connect()
    # Blocking SDK calls (and the first simulation below): off the event loop, so
    # the invocations sharing it keep running.
    counters = await in_storage(collect_stats, client.settings, client.results, client.queues)
    return respond(counters)


@bp.function_name("api_lifecycle")
@bp.route(route="v1/lifecycle", methods=["GET"])
@translate_errors
async def lifecycle(req: func.HttpRequest) -> func.HttpResponse:
    from prism.console.lifecycle import lifecycle_view
    from prism.threads import in_control

    return respond(await in_control(lifecycle_view))
