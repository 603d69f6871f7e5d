"""The parts of llama-cpp-python that bench uses beyond its public `Llama` API, checked by name.

bench reaches into llama-cpp-python where its public API has no way in: the model and context it
builds (`_internals.LlamaModel`/`LlamaContext`, replaced while `Llama` loads, to set `use_extra_bufts`,
`n_seq_max` and `kv_unified`), the context's logits and KV cache (`Llama._ctx`), the model's parameter
count (`Llama._model`), and llama.cpp's C functions for batches of several sequences. pyproject.toml
bounds llama-cpp-python below 0.4; should a release within that bound move one of these names, this
test fails, naming it, before any model is loaded (no model is needed here).
"""

from __future__ import annotations

import inspect

import pytest

llama_cpp = pytest.importorskip("llama_cpp", reason="needs the local extra")
internals = pytest.importorskip("llama_cpp._internals")

C_FUNCTIONS = [  # providers/local.py, local_batch.py, local_model.py and llama_engine.py
    "llama_batch_init",
    "llama_batch_free",
    "llama_decode",
    "llama_get_logits_ith",
    "llama_get_memory",
    "llama_memory_seq_rm",
    "llama_memory_seq_cp",
    "llama_print_system_info",
    "llama_model_quantize",
    "llama_model_quantize_default_params",
    "LLAMA_FTYPE_ALL_F32",
]


@pytest.mark.parametrize("name", C_FUNCTIONS)
def test_the_llama_cpp_functions_bench_calls_exist(name: str) -> None:
    assert hasattr(llama_cpp, name), f"llama_cpp.{name} is gone (llama-cpp-python {llama_cpp.__version__})"


def test_the_model_and_context_bench_builds_take_the_arguments_it_passes() -> None:
    """providers/llama_engine.py wraps these two constructors, passing their arguments by keyword."""
    assert list(inspect.signature(internals.LlamaModel.__init__).parameters) == [
        "self",
        "path_model",
        "params",
        "verbose",
    ]
    assert list(inspect.signature(internals.LlamaContext.__init__).parameters) == [
        "self",
        "model",
        "params",
        "verbose",
    ]
    loading = inspect.getsource(llama_cpp.Llama.__init__)
    # Llama looks both classes up in _internals at each load: replacing them there reaches it.
    assert "internals.LlamaModel(" in loading and "internals.LlamaContext(" in loading
    assert "self._model =" in loading and "self._ctx =" in loading


def test_the_parameter_fields_bench_sets_exist() -> None:
    model_fields = {name for name, _ in llama_cpp.llama_model_params._fields_}
    context_fields = {name for name, _ in llama_cpp.llama_context_params._fields_}
    assert "use_extra_bufts" in model_fields  # extra buffer types off on AMX builds (issue 15)
    assert {"n_seq_max", "kv_unified"} <= context_fields  # several sequences in one KV cache
    quantize_fields = {name for name, _ in llama_cpp.llama_model_quantize_params._fields_}
    assert {"ftype", "allow_requantize", "nthread"} <= quantize_fields  # --weights f32


def test_the_context_and_model_methods_bench_uses_exist() -> None:
    for name in ("get_logits", "kv_cache_seq_rm"):
        assert callable(getattr(internals.LlamaContext, name, None)), f"LlamaContext.{name} is gone"
    assert "self.ctx =" in inspect.getsource(internals.LlamaContext.__init__)  # the raw context pointer
    assert callable(getattr(internals.LlamaModel, "n_params", None)), "LlamaModel.n_params is gone"
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    assert list(inspect.signature(Jinja2ChatFormatter.__init__).parameters)[1:4] == [
        "template",
        "eos_token",
        "bos_token",
    ]
