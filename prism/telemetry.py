"""Telemetry: OpenTelemetry to Application Insights, configured once and only when a
connection string is set; metric instruments that are no-ops until then.

Metric names and their attributes are the contract the Azure workbook's queries use.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import cache
from typing import Any

from prism.settings import Env

logger = logging.getLogger("prism.telemetry")
_configured = threading.Event()
_configure_lock = threading.Lock()

METER_NAME = "prism"
ITEMS = "prism.items"  # counter: modality, status
REJECTIONS = "prism.rejections"  # counter: modality, code
INFERENCE_LATENCY = "prism.inference.duration"  # histogram ms: modality
WRITE_LATENCY = "prism.write.duration"  # histogram ms: modality
ROUTE_LATENCY = "prism.route.duration"  # histogram ms: modality, detected_by
CACHE_LOOKUPS = "prism.cache.lookups"  # counter: modality, outcome (hit | miss)
BATCH_SIZE = "prism.batch.size"  # histogram items per model call: modality


def configure() -> bool:
    """Send logs, traces and metrics to Application Insights when
    ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set; idempotent. Returns whether
    exporting is on."""
    with _configure_lock:
        if _configured.is_set():
            return True
        if not os.environ.get(Env.APPINSIGHTS_CONNECTION):
            return False
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor(logger_name="prism")
        _configured.set()
        logger.info("telemetry exporting to Application Insights")
        return True


@cache
def _instruments() -> dict[str, Any]:
    from opentelemetry import metrics

    meter = metrics.get_meter(METER_NAME)
    return {
        ITEMS: meter.create_counter(ITEMS, unit="1", description="inputs processed"),
        REJECTIONS: meter.create_counter(REJECTIONS, unit="1", description="inputs rejected"),
        INFERENCE_LATENCY: meter.create_histogram(INFERENCE_LATENCY, unit="ms"),
        WRITE_LATENCY: meter.create_histogram(WRITE_LATENCY, unit="ms"),
        ROUTE_LATENCY: meter.create_histogram(ROUTE_LATENCY, unit="ms"),
        CACHE_LOOKUPS: meter.create_counter(CACHE_LOOKUPS, unit="1"),
        BATCH_SIZE: meter.create_histogram(BATCH_SIZE, unit="1"),
    }


def record_cache(modality: str, *, hit: bool) -> None:
    _instruments()[CACHE_LOOKUPS].add(
        1, {"modality": modality, "outcome": "hit" if hit else "miss"}
    )


def record_batch(modality: str, size: int) -> None:
    _instruments()[BATCH_SIZE].record(size, {"modality": modality})


def record_routed(modality: str, detected_by: str, route_ms: float) -> None:
    _instruments()[ROUTE_LATENCY].record(
        route_ms, {"modality": modality, "detected_by": detected_by}
    )


def record_rejected(modality: str, code: str) -> None:
    instruments = _instruments()
    instruments[ITEMS].add(1, {"modality": modality, "status": "rejected"})
    instruments[REJECTIONS].add(1, {"modality": modality, "code": code})


def record_processed(
    modality: str,
    status: str,
    *,
    inference_ms: float,
    write_ms: float,
    error_code: str | None,
) -> None:
    instruments = _instruments()
    if error_code is not None:
        record_rejected(modality, error_code)
    else:
        instruments[ITEMS].add(1, {"modality": modality, "status": status})
    instruments[INFERENCE_LATENCY].record(inference_ms, {"modality": modality})
    instruments[WRITE_LATENCY].record(write_ms, {"modality": modality})
