"""The base of every record bench saves or reads (`Record`: pydantic, unknown fields refused) and the
one way bench words a pydantic error (`first_problem`, `problem_path`). Below benchmark/schemas.py
(a run directory's records) and benchmark/settings.py (a run's settings), which both build on it, as
does every other record of bench (task files, family files, price tables, pins)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError


class Record(BaseModel):
    """Base of every record bench saves or reads (run files, task, family, price and reference files):
    unknown fields are an error, not silently kept."""

    model_config = ConfigDict(extra="forbid")


def first_problem(error: ValidationError, model: type[BaseModel] | None = None) -> str:
    """One readable reason from a pydantic error (the one way bench words them): its first problem,
    with the field path; for an unknown field, the fields `model` has."""
    first = error.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in first["loc"])
    if first["type"] == "missing":
        return f"missing field '{loc}'"
    if first["type"] == "extra_forbidden":
        known = f" (fields: {', '.join(model.model_fields)})" if model is not None else ""
        return f"unknown field '{loc}'{known}"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] != "value_error":
        message += f" (got {str(first.get('input'))[:40]!r})"
    return f"{loc}: {message}" if loc else message


def problem_path(error: ValidationError) -> tuple[int | str, ...]:
    """Where the first problem of a pydantic error is: mapping keys and list indexes."""
    return tuple(error.errors(include_url=False)[0]["loc"])
