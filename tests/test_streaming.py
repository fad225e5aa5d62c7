"""Streaming synthesis equals the unchunked pipeline: in deterministic mode (fed prenet masks, fed noise, FP32) the
streamed decoder mel equals the decoder loop's exactly and the streamed audio is within 1e-4 of the signal's max,
for HiFi-GAN and WaveGlow, chunks of 1 frame, a few frames and more than the sentence, one utterance and a
ragged batch, an item stopping in its first chunk and one ending at the step cap.  First audio comes before the
decoder is done, and a context below the vocoder's receptive field is caught."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures_hifigan import hg_small  # noqa: F401 (fixtures)
from fixtures_tacotron2 import t2_small  # noqa: F401
from fixtures_waveglow import wg_small  # noqa: F401
from trtnet.engines.eager import EagerNetwork
from trtnet.layers.options import NetworkOptions
from trtnet.runtime.pipeline import Limits, Pipeline, Settings, encode_lines, pad_batch
from trtnet.runtime.streaming import to_int16
from trtnet.runtime.text import DEFAULT_TEXT
from trtnet.runtime.vocoder import VOCODERS

TOL = 1e-4
TEXTS = [DEFAULT_TEXT[:100], DEFAULT_TEXT[:20], DEFAULT_TEXT[30:90]]   # 33, 6 and 19 frames with the small demos
CAP = 120


def _pipeline(t2, voc_model, *, threshold=0.5, cap=CAP, strength=0.01) -> Pipeline:
    arch = voc_model.store.architecture
    v = VOCODERS[arch]
    opts = NetworkOptions(precision="fp32", dropout="input", noise="input")
    sessions = {n: EagerNetwork(n, t2.store, opts) for n in ("encoder", "decoder-loop", "decoder-chunk", "postnet")}
    sessions.update({n: EagerNetwork(n, voc_model.store, opts) for n in (v.network, v.denoiser)})
    return Pipeline(sessions, t2_config=t2.config, vocoder_config=voc_model.store.config,
                    limits=Limits(8, 256, CAP), settings=Settings(cap, threshold, 0.6, strength, dropout="input",
                                                                  noise="input", seed=7))


def _streamed(pipe: Pipeline, texts, chunk: int, **kw):
    stream = pipe.stream(texts, chunk_frames=chunk, **kw)
    pieces: dict[int, list] = {}
    order = []
    for c in stream:
        pieces.setdefault(c.item, []).append(c)
        order.append((c.item, c.final))
    for b, cs in pieces.items():
        assert [c.start for c in cs] == list(np.cumsum([0] + [c.audio.size for c in cs[:-1]])), b
        assert [c.final for c in cs] == [False] * (len(cs) - 1) + [True], b
    audio = {b: np.concatenate([c.audio for c in cs]) for b, cs in pieces.items()}
    return stream, audio, pieces


def _check(pipe: Pipeline, texts, chunk: int, **kw) -> dict:
    ids = encode_lines(texts, 256)
    want = pipe.synthesize_batch(texts, ids)
    tokens, lengths = pad_batch(ids)
    mel = pipe.decode(tokens, lengths)["mel"]
    stream, audio, pieces = _streamed(pipe, texts, chunk, **kw)
    for b, u in enumerate(want.utterances):
        frames = min(u.mel_length + 1, want.n_steps)
        np.testing.assert_array_equal(np.concatenate(stream.items[b].mel, -1)[0], mel[b, :, :frames])
        post = np.concatenate(stream.items[b].mel_postnet, -1)[0][:, :u.mel_length]
        assert np.abs(post - u.mel_postnet).max() <= TOL * np.abs(u.mel_postnet).max(), b
        assert audio[b].shape == u.audio.shape, b
        assert np.abs(audio[b] - u.audio).max() <= TOL * np.abs(u.audio).max(), (b, chunk)
    return pieces


@pytest.mark.parametrize("chunk", [1, 5, 16, 1000])
@pytest.mark.parametrize("vocoder", ["hg_small", "wg_small"])
def test_ragged_batch_streams_equal_the_unchunked_run(vocoder, chunk, t2_small, request):
    _check(_pipeline(t2_small, request.getfixturevalue(vocoder)), TEXTS, chunk)


@pytest.mark.parametrize("chunk", [1, 7, 32])
@pytest.mark.parametrize("vocoder", ["hg_small", "wg_small"])
def test_an_utterance_at_the_step_cap_streams_long_before_its_end(vocoder, chunk, t2_small, request):
    """Gate never fires (threshold 1): 90 frames at the cap, so every stage runs many context windows; the first
    audio comes after 1 + lookahead decoded frames, not after all 90."""
    pipe = _pipeline(t2_small, request.getfixturevalue(vocoder), threshold=1.0, cap=90)
    pieces = _check(pipe, TEXTS[:1], chunk)[0]
    assert len(pieces) >= 90 // max(chunk, 16) - 1
    lookahead = pipe.stream(TEXTS[:1]).contexts.lookahead
    assert pieces[0].audio.size <= (chunk * (1 + lookahead // chunk)) * pipe.vocoder_config.upsample_stride


def test_a_gate_firing_in_the_first_chunk(t2_small, hg_small):
    """The 6-frame item stops inside a first chunk of 16: one final chunk with all of its audio."""
    pieces = _check(_pipeline(t2_small, hg_small), TEXTS[1:2], 16)[0]
    assert len(pieces) == 1 and pieces[0].final


def test_int16_chunks_are_the_float_chunks_converted(t2_small, hg_small):
    pipe = _pipeline(t2_small, hg_small, strength=0.0)
    floats = [c.audio for c in pipe.stream(TEXTS[0], chunk_frames=8)]
    ints = [c.audio for c in pipe.stream(TEXTS[0], chunk_frames=8, dtype="int16")]
    assert all(i.dtype == np.int16 for i in ints) and len(ints) == len(floats) > 1
    np.testing.assert_array_equal(np.concatenate(ints), to_int16(np.concatenate(floats)))


def test_too_little_context_is_caught(t2_small, hg_small):
    """The check is sensitive: a vocoder context of 1 frame (below HiFi-GAN's receptive field) fails it."""
    with pytest.raises(AssertionError):
        _check(_pipeline(t2_small, hg_small, threshold=1.0, cap=60), TEXTS[:1], 8, vocoder_context=1)


def test_bad_settings_are_errors(t2_small, hg_small):
    pipe = _pipeline(t2_small, hg_small)
    with pytest.raises(ValueError, match="chunk_frames must be >= 1"):
        pipe.stream("hello", chunk_frames=0)
    with pytest.raises(ValueError, match="dtype must be"):
        pipe.stream("hello", dtype="int8")
    del pipe.sessions["decoder-chunk"]
    with pytest.raises(ValueError, match="decoder-chunk"):
        pipe.stream("hello")
