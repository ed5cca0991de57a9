"""A loaded model's Linear layers on oneDNN: same parameters, stock results to float32 rounding, fallbacks."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from engine import gemm
from engine.config import ModelSpec
from engine.extract.models import load_model

needs_onednn = pytest.mark.skipif(gemm._probe()[0] != "onednn", reason=gemm._probe()[1])
SENTENCES = ["In the beginning God created the heaven and the earth .", "And God said , Let there be light ."]


def _states(model: torch.nn.Module, tokenizer) -> list[torch.Tensor]:
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    batch.pop("token_type_ids", None)
    with torch.inference_mode():
        return list(model(**batch, output_hidden_states=True).hidden_states)


@pytest.mark.parametrize("kind", ["bert", "xlmr", "t5"])
def test_loaded_model_runs_linears_on_onednn_where_usable(tiny_models, kind):
    spec = ModelSpec(name=str(tiny_models[kind]))
    loaded = load_model(spec, torch.device("cpu"))
    with gemm.use_cpu_gemm("blas"):
        stock = load_model(spec, torch.device("cpu")).model
    swapped = [m for m in loaded.model.modules() if isinstance(m, gemm.OneDNNLinear)]
    plain = [m for m in loaded.model.modules() if type(m) is torch.nn.Linear]
    assert not any(isinstance(m, gemm.OneDNNLinear) for m in stock.modules())
    if gemm.cpu_gemm() == "onednn":
        assert swapped and not plain
    else:
        assert not swapped and plain
    assert loaded.model.state_dict().keys() == stock.state_dict().keys()
    model = loaded.model.get_encoder() if kind == "t5" else loaded.model
    stock = stock.get_encoder() if kind == "t5" else stock
    ours, ref = _states(model, loaded.tokenizer), _states(stock, loaded.tokenizer)
    assert len(ours) == len(ref) == 3
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@needs_onednn
def test_me5_hidden_states_equal_stock_to_float32_rounding():
    from engine.material import prepare_material

    prepare_material("me5-small")
    loaded = load_model(ModelSpec(name="me5-small"), torch.device("cpu"))
    stock = AutoModel.from_pretrained(loaded.source, add_pooling_layer=False).eval()
    tokenizer = AutoTokenizer.from_pretrained(loaded.source)
    ours, ref = _states(loaded.model, tokenizer), _states(stock, tokenizer)
    for a, b in zip(ours, ref, strict=True):
        scale = float(b.abs().max())
        assert float((a - b).abs().max()) <= 1e-5 * scale
    with gemm.use_cpu_gemm("blas"):  # the same module object back on torch's BLAS gives the stock states
        again = _states(loaded.model, tokenizer)
    for a, b in zip(again, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@needs_onednn
def test_other_dtypes_autocast_and_gradients_take_the_stock_path():
    linear = torch.nn.Linear(24, 7)
    wrapped = gemm.OneDNNLinear(linear)
    x = torch.randn(3, 5, 24)
    with torch.inference_mode():
        torch.testing.assert_close(wrapped(x), linear(x), rtol=1e-6, atol=1e-6)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = wrapped(x)
            assert out.dtype == torch.bfloat16
            torch.testing.assert_close(out, linear(x), rtol=0, atol=0)
        double = torch.nn.Linear(24, 7, dtype=torch.float64)
        torch.testing.assert_close(gemm.OneDNNLinear(double)(x.double()), double(x.double()), rtol=0, atol=0)
    grad_x = torch.randn(4, 24, dtype=torch.float64).float().requires_grad_()
    lin32 = torch.nn.Linear(24, 7)
    out = gemm.OneDNNLinear(lin32)(grad_x)
    out.sum().backward()  # autograd works: the training path is F.linear
    assert grad_x.grad is not None and lin32.weight.grad is not None
