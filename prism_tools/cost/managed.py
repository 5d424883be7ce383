"""What the same files would cost through Azure's managed AI services, at list prices
(``prices.json``: each figure dated and sourced, unverified ones flagged), beside what
Prism's own int8 models cost to run them.

The managed service nearest each modality, and how it bills:

* image — Azure AI Vision Image Analysis (tags or a caption): one transaction per image;
* audio — Azure AI Speech, speech to text (standard, real time): per hour of audio.
  Prism's audio result transcribes the speech (Whisper tiny.en) beside voice activity
  and acoustic features; per minute of speech, see :mod:`prism_tools.cost.speech`;
* text — Azure AI Language (pre-built features such as key phrases or sentiment): per
  text record of 1,000 characters, each document rounded up.

Units per file come from the very files the benchmark measured Prism's cost on
(``bench/results/batching.json``, ``inputs``): one image, the sample recording's
duration, the sentences' mean length in characters (one text record each, since none
reaches 1,000). Prism's text model reads at most 256 tokens and its audio model costs
about the same per second of sound, so for longer files the managed price grows with
the file and Prism's far less. Storing the files costs the same either way, so both
sides leave it out.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

# modality → (service, its price's key in prices.json, the unit, units the price is for)
SERVICES = {
    "image": ("Azure AI Vision Image Analysis", "managed_vision_per_1000_images", "image", 1000),
    "audio": ("Azure AI Speech, speech to text", "managed_speech_per_audio_hour", "audio hour", 1),
    "text": ("Azure AI Language", "managed_language_per_1000_text_records", "text record", 1000),
}


@dataclass(frozen=True)
class ManagedLine:
    modality: str
    service: str
    unit: str
    units_per_file: float
    managed_per_million: float
    prism_per_million: float  # compute, executions and Cosmos DB: no storage
    verified: bool
    source_url: str

    @property
    def ratio(self) -> float:
        """How many times Prism's processing the managed service costs."""
        return self.managed_per_million / self.prism_per_million

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def units_per_file(modality: str, inputs: dict[str, float], prices: dict[str, Any]) -> float:
    """Billing units one benchmarked file makes (``inputs``: its mean audio seconds and
    text characters)."""
    if modality == "image":
        return 1.0
    if modality == "audio":
        return float(inputs["audio_seconds"]) / 3600
    if modality == "text":
        record = int(prices["language_text_record_characters"])
        return float(math.ceil(float(inputs["text_characters"]) / record))
    raise ValueError(f"no managed service is compared for {modality!r}")


def managed_comparison(
    prism_per_million: dict[str, float], inputs: dict[str, float], prices: dict[str, Any]
) -> list[ManagedLine]:
    """One line per modality: the managed service's list price per million of the
    benchmarked files beside Prism's processing cost per million (``prism_per_million``)."""
    lines = []
    for modality, (service, price_key, unit, priced_units) in SERVICES.items():
        units = units_per_file(modality, inputs, prices)
        per_unit = prices[price_key] / priced_units
        source = prices["sources"][price_key]
        lines.append(
            ManagedLine(
                modality=modality,
                service=service,
                unit=unit,
                units_per_file=units,
                managed_per_million=units * per_unit * 1_000_000,
                prism_per_million=prism_per_million[modality],
                verified=bool(source["verified"]),
                source_url=str(source["url"]),
            )
        )
    return lines
