"""The HTTP API under ``/api/v1``: synchronous inference, results, search, health and
models.

Function-level auth (a function key) on everything but ``/health``. Errors always
answer ``{"error": {"code", "message"}}`` with the status the code maps to.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import azure.functions as func

bp = func.Blueprint()
logger = logging.getLogger("prism.functions.api")

JSON = "application/json"


def respond(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype=JSON)


def error_response(code: str, message: str, status: int) -> func.HttpResponse:
    return respond({"error": {"code": code, "message": message}}, status)


def _path(url: str) -> str:
    """The URL without its query, which may carry the function key (``?code=``)."""
    return url.split("?", 1)[0]


def translate_errors(call: Any) -> Any:
    """Turn Prism errors into coded HTTP answers; anything unexpected into a safe 500."""
    import functools

    @functools.wraps(call)
    async def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        from prism.budget import BudgetExhaustedError
        from prism.errors import PermanentError, PrismError

        try:
            result: func.HttpResponse = await call(req)
            return result
        except PermanentError as error:
            return error_response(error.code.value, error.message, error.http_status)
        except BudgetExhaustedError as error:  # every byte of memory for files is taken
            response = error_response(error.code.value, error.message, 503)
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        except PrismError as error:  # transient faults and storage conditions
            logger.warning("dependency failure on %s: %s", _path(req.url), error)
            return error_response(
                error.code.value, "a service Prism depends on failed; try again later", 503
            )
        except Exception:
            logger.exception("unexpected failure on %s", _path(req.url))
            return error_response("internal", "an unexpected error occurred; it was logged", 500)

    return wrapper


@bp.function_name("api_infer")
@bp.route(route="v1/infer", methods=["POST"])
@translate_errors
async def infer(req: func.HttpRequest) -> func.HttpResponse:
    from prism.http_contract import InferParameters
    from prism.limits import read_within_limit
    from prism.modality import Modality
    from prism.names import safe_file_name
    from prism.pipeline import get_pipeline
    from prism.results import public_view

    parameters = InferParameters.from_params(req.params)  # a bad request costs nothing
    pipeline = get_pipeline()
    body = read_within_limit(
        req.headers.get("content-length"), req.get_body, pipeline.settings.max_bytes_overall
    )
    modality = Modality(parameters.modality) if parameters.modality else None
    name = safe_file_name(parameters.name, default="upload")
    document = await pipeline.infer_bytes(body, name=name, modality=modality)
    return respond(public_view(document))


@bp.function_name("api_result")
@bp.route(route="v1/results/{id}", methods=["GET"])
@translate_errors
async def get_result(req: func.HttpRequest) -> func.HttpResponse:
    from prism.errors import ErrorCode, PermanentError
    from prism.pipeline import get_pipeline
    from prism.queries import find_result
    from prism.threads import in_storage

    document_id = req.route_params.get("id", "")
    document = await in_storage(find_result, get_pipeline().results, document_id)
    if document is None:
        # The id is not echoed: it is the caller's text, not a result's.
        raise PermanentError(ErrorCode.NOT_FOUND, "no result with this id")
    return respond(document)


@bp.function_name("api_results")
@bp.route(route="v1/results", methods=["GET"])
@translate_errors
async def list_results(req: func.HttpRequest) -> func.HttpResponse:
    """Pages of results: filters and continuation tokens (prism.queries.list_results)."""
    from prism.http_contract import ListParameters
    from prism.pipeline import get_pipeline
    from prism.queries import list_results
    from prism.threads import in_storage

    wanted = ListParameters.from_params(req.params)
    page = await in_storage(
        list_results,
        get_pipeline().results,
        wanted.result_filter(),
        wanted.limit,
        wanted.continuation,
    )
    return respond(page.to_dict())


@bp.function_name("api_file_state")
@bp.route(route="v1/files", methods=["GET"])
@translate_errors
async def get_file(req: func.HttpRequest) -> func.HttpResponse:
    """A file of the incoming container by its name: its state and the result of its
    current version (prism.queries.file_state)."""
    from prism.http_contract import FileParameters
    from prism.pipeline import get_pipeline
    from prism.queries import file_state
    from prism.threads import in_storage

    parameters = FileParameters.from_params(req.params)
    pipeline = get_pipeline()
    body = await in_storage(
        file_state,
        pipeline.results,
        pipeline.blobs,
        pipeline.settings.incoming_container,
        parameters.name,
    )
    return respond(body)


@bp.function_name("api_search")
@bp.route(route="v1/search", methods=["GET"])
@translate_errors
async def search(req: func.HttpRequest) -> func.HttpResponse:
    """Stored results ranked by meaning (``q``, ``modality``, ``since``, ``until``,
    ``limit``): see prism.search.search_stored."""
    from prism.http_contract import SearchParameters
    from prism.pipeline import get_pipeline
    from prism.search import configured_backend, search_stored, text_embedder
    from prism.threads import in_storage

    # A bad request costs nothing.
    request = SearchParameters.from_params(req.params).request()
    pipeline = get_pipeline()
    body = await in_storage(
        search_stored,
        pipeline.results,
        request,
        text_embedder(pipeline.engine),
        backend=configured_backend(pipeline.settings.search),
    )
    return respond(body)


@bp.function_name("api_health")
@bp.route(route="v1/health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@translate_errors
async def health(req: func.HttpRequest) -> func.HttpResponse:
    from prism.health import public_health
    from prism.pipeline import get_pipeline
    from prism.threads import in_control

    # Not the storage pool: a stalled service must not keep /health from answering 503.
    report = await in_control(public_health, get_pipeline())
    return respond(report, 200 if report["status"] == "ok" else 503)


@bp.function_name("api_models")
@bp.route(route="v1/models", methods=["GET"])
@translate_errors
async def models(req: func.HttpRequest) -> func.HttpResponse:
    from prism.onnx.registry import model_report
    from prism.settings import get_settings
    from prism.threads import in_control

    rows = await in_control(model_report, get_settings().model_dir)
    return respond({"models": rows})
