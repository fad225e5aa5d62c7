"""The emulated engine path with real cuda-python device buffers (a CUDA GPU; TensorRT itself not needed to run,
only a TensorRT network API to define the networks again, which TensorRT-RTX gives without a GPU).

On a GPU the emulator pushes no stand-in: the runtime's cudaMalloc buffers, pinned staging, streams and events
are real, and the emulated engine copies device↔host around the interpreter.  Elsewhere these tests skip (the
same path runs on the host-memory stand-in in test_emulate_e2e.py and test_emulate_contract.py).

The command for the H200 is in the README ("How correctness is proven").
"""

from __future__ import annotations

import numpy as np
import pytest

from fixtures_emulate import MAX_STEPS, engine_dirs  # noqa: F401 (fixture)
from trtnet.runtime import cuda as cuda_mod

HAVE_CUDA, WHY = cuda_mod.cuda_available()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not HAVE_CUDA,
                                                  reason=f"needs a CUDA GPU: {WHY}")]
LINES = ["Hello world.", "Dr. Smith paid $3.50 for 2 apples.", "A third, longer line of text to say."]


def test_emulated_sessions_use_real_device_buffers(engine_dirs):
    from trtnet.emulate import Emulator, memory
    from trtnet.runtime.engine_dir import open_engine_dir
    emulator = Emulator()
    with open_engine_dir(engine_dirs("fp32"), ("postnet", "decoder-loop"), provider=emulator) as d:
        assert not emulator.host_memory and emulator.cuda is cuda_mod.CUDA_PYTHON
        for name, s in d.sessions.items():
            assert "cuda-python device buffers" in str(s.engine.flavor)
            for tensor in ("mel",) if name == "postnet" else ("memory", "mel"):
                ptr = s.buffer(tensor).ptr
                assert memory.memory_kind(s.engine.cuda, ptr) == memory.DEVICE
                assert memory.bytes_left(s.engine.cuda, ptr) >= s.capacity(tensor)
        mel = np.random.default_rng(0).standard_normal((2, 12, 30)).astype(np.float32)
        out = d.sessions["postnet"].run({"mel": mel, "frames": np.array([30, 12], np.int32)})["mel_postnet"]
        assert out.shape == mel.shape and not out[1, :, 12:].any() and out[1, :, :12].any()


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_synthesize_on_device_buffers_equals_eager(engine_dirs, tmp_path, precision):
    from trtnet.runtime.wav import read_wav
    from trtnet.tools.cli import main
    d = engine_dirs(precision)
    lines = tmp_path / "lines.txt"
    lines.write_text("\n".join(LINES) + "\n")
    common = ["-i", str(lines), "--batch-size", "3", "--seed", "3", "--save-mel", "--sample-format", "float32",
              "--max-decoder-steps", str(MAX_STEPS)]
    assert main(["synthesize", "-o", str(tmp_path / "emulated"), "--engine-dir", str(d), "--emulate-engines",
                 *common]) == 0
    assert main(["synthesize", "-o", str(tmp_path / "eager"), "--backend", "eager", "--demo-size", "small",
                 "--work-dir", str(d), "--precision", precision, "--dropout", "input", "--noise", "input", *common]) == 0
    tol = dict(rtol=1e-5, atol=1e-6) if precision == "fp32" else dict(rtol=5e-4, atol=1e-4)
    for i in range(len(LINES)):
        got, want = (read_wav(tmp_path / k / f"audio_{i}.wav")[0] for k in ("emulated", "eager"))
        assert got.shape == want.shape and np.abs(got).max() > 0
        np.testing.assert_allclose(got, want, **tol, err_msg=f"line {i}")
