"""A price table with round numbers, so expected costs can be worked out by hand."""

from __future__ import annotations

import pytest

from prism.lifecycle import PriceTable, Tier, TierPrices

GIB = 1024**3


@pytest.fixture
def prices() -> PriceTable:
    # Per GB-day storage is price / 30: hot 0.1, cool 0.05, cold 0.02, archive 0.01.
    return PriceTable(
        currency="USD",
        recorded="2026-09-15",
        source="hand-made for tests",
        days_per_month=30.0,
        min_billable_bytes=128 * 1024,
        min_billable_tiers=frozenset({Tier.COOL, Tier.COLD, Tier.ARCHIVE}),
        index_tags_per_10k_month=3.0,
        tiers={
            Tier.HOT: TierPrices(3.0, 10.0, 1.0, 0.0, 0),
            Tier.COOL: TierPrices(1.5, 20.0, 2.0, 0.1, 30),
            Tier.COLD: TierPrices(0.6, 30.0, 3.0, 0.2, 90),
            Tier.ARCHIVE: TierPrices(0.3, 40.0, 400.0, 0.5, 180),
        },
    )
