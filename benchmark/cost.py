"""Token cost estimates and the --max-cost budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import Field, ValidationError

from benchmark.errors import UsageError
from benchmark.records import Record, first_problem

PRICES = Path(str(resources.files("providers") / "prices.yaml"))
"""The price table, package data of `providers` (which owns it), wherever it is installed."""
CHARS_PER_TOKEN = 4
"""Rough size of a token before a request is sent (its real count comes back with the answer)."""


def estimate_tokens(prompt: str) -> int:
    """A prompt's tokens before it is sent (or when a provider does not report them)."""
    return len(prompt) // CHARS_PER_TOKEN + 1


MAX_PRICE = 10_000.0
"""The highest price a price table may state, in dollars per million tokens (list prices are below
100): a sample's cost then stays under MAX_ITEM_COST_USD, so every sample bench writes reads back."""
PerMillion = Annotated[float, Field(ge=0, le=MAX_PRICE, allow_inf_nan=False)]


class Price(Record):
    input: PerMillion
    output: PerMillion


class PriceTable(Record):
    version: str
    prices: dict[str, Price]

    def cost(self, model: str | None, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Dollars for these tokens; None for a model without a price (local, scripted, unlisted)."""
        price = self.prices.get(model or "")
        if price is None:
            return None
        return (prompt_tokens * price.input + completion_tokens * price.output) / 1_000_000


def load_prices(path: Path = PRICES) -> PriceTable:
    try:
        return PriceTable.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        raise UsageError(f"{path}: not a valid price table ({first_problem(exc, PriceTable)})") from None
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: not a valid price table ({str(exc).splitlines()[0]})") from None


@dataclass
class Budget:
    """Stops a run before a request whose estimated cost would take the total over `limit`.

    Before a request its cost is estimated (prompt characters / 4, plus the whole generation budget)
    and reserved; once it is answered, the reservation is replaced by the cost of the tokens used.
    """

    limit: float
    prices: PriceTable
    spent: float = 0.0
    reserved: float = 0.0
    stopped: str | None = field(default=None)

    def reserve(self, model: str | None, prompt: str, max_tokens: int) -> float | None:
        """The estimate held for a request, or None (and the run stops) if it does not fit."""
        if self.stopped is not None:
            return None
        estimate = self.prices.cost(model, estimate_tokens(prompt), max_tokens) or 0.0
        if self.spent + self.reserved + estimate > self.limit:
            self.stopped = (
                f"stopped before exceeding --max-cost ${self.limit:.4f}: spent ${self.spent:.4f}, and the "
                f"next request to {model} was estimated at ${estimate:.4f}"
            )
            return None
        self.reserved += estimate
        return estimate

    def settle(self, estimate: float, actual: float | None) -> None:
        self.reserved -= estimate
        self.spent += actual or 0.0
