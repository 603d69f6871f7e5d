"""Costs (benchmark/cost.py): a price table read back is checked against the bounds that keep every cost
bench computes finite."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.cost import MAX_PRICE, load_prices
from benchmark.errors import UsageError
from benchmark.schemas import MAX_ITEM_COST_USD
from providers.base import MAX_TOKEN_COUNT


def test_no_cost_bench_computes_is_refused_when_read_back(tmp_path: Path) -> None:
    assert 2 * MAX_TOKEN_COUNT * MAX_PRICE / 1e6 <= MAX_ITEM_COST_USD
    prices = tmp_path / "prices.yaml"
    prices.write_text("version: '1'\nprices:\n  m: {input: 1e308, output: 1}\n")
    with pytest.raises(UsageError, match=r"prices\.yaml: not a valid price table \(prices\.m\.input"):
        load_prices(prices)
