"""FastPitch + HiFi-GAN served by a real Triton Inference Server on this CPU (eager backend, small demo models):
the export through the acoustic seam, requests over HTTP equal to ``trtnet synthesize`` of the same text."""

from __future__ import annotations

import numpy as np
import pytest

from trtnet.runtime.wav import read_wav
from trtnet.tools.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
client_mod = pytest.importorskip("trtnet.serve.client")
pytest.importorskip("tritonclient.grpc")

from test_triton_serve import serving  # noqa: E402

MODELS = ["--acoustic", "fastpitch", "--vocoder", "hifigan"]
TEXTS = ["Hello world.", "FastPitch served by Triton, with HiFi-GAN."]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    yield from serving(tmp_path_factory.mktemp("triton_fp"), *MODELS)


def test_requests_equal_direct_synthesis(served):
    server, tmp = served
    c = client_mod.TTSClient(f"127.0.0.1:{server.ports.http}", "http", timeout_s=120)
    try:
        for n, text in enumerate(TEXTS):
            audio, mel_length = c.synthesize(text)
            d = tmp / f"direct{n}"
            d.mkdir()
            (d / "l.txt").write_text(text + "\n")
            assert main(["synthesize", "-i", str(d / "l.txt"), "-o", str(d / "o"), "--backend", "eager",
                         "--demo-size", "small", *MODELS, "--sample-format", "float32", "--normalize", "none"]) == 0
            ref = read_wav(d / "o" / "audio_0.wav")[0]
            assert audio.shape == ref.shape == (mel_length * 16,) and mel_length > 10
            np.testing.assert_allclose(np.clip(audio, -1, 1), ref, rtol=0, atol=1e-5)
    finally:
        c.close()
