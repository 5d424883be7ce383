"""The dated price table the simulator charges, and the billing rules built on it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator

from prism.errors import ConfigurationError
from prism.lifecycle.policy import Tier, read_json
from prism.settings import PROJECT_ROOT

DEFAULT_PRICES_PATH = PROJECT_ROOT / "lifecycle_policies" / "prices.json"
PRICES_SCHEMA_PATH = PROJECT_ROOT / "lifecycle_policies" / "prices.schema.json"
# Azure bills capacity in binary gigabytes.
BYTES_PER_GB = 1024**3


@dataclass(frozen=True)
class TierPrices:
    storage_gb_month: float
    write_per_10k: float
    read_per_10k: float
    retrieval_per_gb: float
    min_retention_days: int


@dataclass(frozen=True)
class PriceTable:
    currency: str
    recorded: str
    source: str
    days_per_month: float
    min_billable_bytes: int
    min_billable_tiers: frozenset[Tier]
    index_tags_per_10k_month: float
    tiers: dict[Tier, TierPrices]

    def storage_gb_day(self, tier: Tier) -> float:
        return self.tiers[tier].storage_gb_month / self.days_per_month

    def billable_bytes(self, size: float, tier: Tier) -> float:
        """Objects smaller than the minimum are billed as the minimum in the cold tiers."""
        if tier in self.min_billable_tiers:
            return max(size, float(self.min_billable_bytes))
        return size

    def early_deletion(self, size: float, tier: Tier, days_in_tier: int) -> float:
        """The pro-rata charge for leaving ``tier`` after ``days_in_tier`` days."""
        remaining = self.tiers[tier].min_retention_days - days_in_tier
        if remaining <= 0:
            return 0.0
        return (
            remaining * self.storage_gb_day(tier) * self.billable_bytes(size, tier) / BYTES_PER_GB
        )


def load_prices(path: Path | None = None) -> PriceTable:
    """The price table at ``path`` (a user's override) or the shipped default."""
    return _load_prices(path or DEFAULT_PRICES_PATH)


@lru_cache(maxsize=8)
def _load_prices(path: Path) -> PriceTable:
    document = read_json(path)
    validator = Draft202012Validator(read_json(PRICES_SCHEMA_PATH))
    problems = [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]
    if problems:
        raise ConfigurationError(f"{path} is not a valid price table: " + "; ".join(problems))
    return PriceTable(
        currency=document["currency"],
        recorded=document["recorded"],
        source=document["source"],
        days_per_month=float(document["days_per_month"]),
        min_billable_bytes=int(document["min_billable_bytes"]),
        min_billable_tiers=frozenset(Tier.parse(t) for t in document["min_billable_tiers"]),
        index_tags_per_10k_month=float(document["index_tags_per_10k_month"]),
        tiers={
            Tier.parse(name): TierPrices(**values) for name, values in document["tiers"].items()
        },
    )
