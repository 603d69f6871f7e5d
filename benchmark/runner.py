"""The runner: models × tasks × promptings × items → samples, in three parts one can read alone: the
session (benchmark/session.py: plans, resumes, loads one model at a time, stops), each model's client
(benchmark/client.py: calls, the only retry layer, the response cache, batching) and the sampler
(benchmark/sampler.py: an answer turned into a sample). This module is their public face: `Runner` and
what it is given (a `RunPlan`: the run's settings resolved by `plan_run`, benchmark/runconfig.py) and
tells (benchmark/progress.py)."""

from __future__ import annotations

from benchmark.client import DEADLINE_GRACE_S
from benchmark.progress import Progress, SilentProgress
from benchmark.runconfig import ModelSpec, RunPlan, TaskPlan, plan_run
from benchmark.session import ProviderFactory, Sizer, chat_template
from benchmark.session import Session as Runner

__all__ = [
    "DEADLINE_GRACE_S",
    "ModelSpec",
    "Progress",
    "ProviderFactory",
    "RunPlan",
    "Runner",
    "SilentProgress",
    "Sizer",
    "TaskPlan",
    "chat_template",
    "plan_run",
]
