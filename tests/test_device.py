"""Device choices a GPU node depends on, checked on CPU with the CUDA queries stood in for: bfloat16 asked of
the device in question (no emulation), and the metric kernels' GPU made current only inside their work."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

from engine.device import array_device, array_module, resolve_compute_dtype


def test_auto_dtype_asks_the_device_in_question_for_native_bfloat16(monkeypatch):
    capability = {0: (9, 0), 1: (7, 5)}  # an H100-class card and a Turing one (bf16 only emulated)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index=None: capability[index])
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: pytest.fail("counts emulation"))
    assert resolve_compute_dtype("auto", torch.device("cuda", 0)) == torch.bfloat16
    assert resolve_compute_dtype("auto", torch.device("cuda", 1)) == torch.float16
    assert resolve_compute_dtype("auto", torch.device("cuda")) == torch.bfloat16  # the current device
    assert resolve_compute_dtype("auto", torch.device("cpu")) == torch.float32


def test_cupy_device_is_current_only_inside_the_kernels_work(monkeypatch):
    made = []

    class Device:
        def __init__(self, index):
            made.append(index)
            self.index = index

        def use(self):
            pytest.fail("Device.use() changes the thread's current device for good")

    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(Device=Device, runtime=types.SimpleNamespace(getDeviceCount=lambda: 2))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    assert array_module("cuda:1", "calign") is fake and made == []
    assert isinstance(array_device(fake, "cuda:1"), Device) and made == [1]
    with array_device(fake, "cuda"):  # the current device: nothing switched
        pass
    with array_device(np, "cpu"):
        pass
    assert made == [1]
