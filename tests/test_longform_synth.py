"""Long-form synthesis on the small demo (eager, fed randomness): a long line becomes one WAV of its pieces and
pauses; pieces in a batch equal their own single runs; --split none keeps the text limit's error; a piece that
reaches the step cap is named (line and sentence) in a warning; streaming yields the first sentence's audio
before the later sentences are split or encoded."""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pytest

from trtnet.runtime.longform import LineUtterance, LongForm, Pauses
from trtnet.runtime.pipeline import Pipeline
from trtnet.runtime.wav import read_wav
from trtnet.tools.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
EAGER = ["--backend", "eager", "--demo-size", "small", "--dropout", "input", "--noise", "input", "--seed", "4"]
SENTENCE = ("The forms of printed letters should be beautiful, and their arrangement on the page should be "
            "reasonable and a help to the shapeliness of the letters themselves. ")
LONG = (SENTENCE + "Dr. Smith paid 3.50 dollars; he said it was fair. " + SENTENCE + "Done!")


def _args(**kw) -> argparse.Namespace:
    base = dict(engine_dir=None, backend="eager", emulate_engines=False, tacotron2=None, waveglow=None, hifigan=None,
                vocoder=None, demo_size="small", cache_dir=None, device="cpu", precision="fp32", dropout="input",
                noise="input", gate_threshold=None, sigma=None, denoiser_strength=None, max_decoder_steps=None, seed=4)
    return argparse.Namespace(**{**base, **kw})


@pytest.fixture(scope="module")
def backend():
    from trtnet.tools.common import open_backend
    b = open_backend(_args(), ("encoder", "decoder-loop", "decoder-chunk", "postnet", "vocoder", "vocoder-denoiser"))
    yield b
    b.close()


def _pipe(backend, **kw) -> Pipeline:
    from trtnet.tools.common import settings_from
    return Pipeline(backend.sessions, t2_config=backend.t2_config, vocoder_config=backend.vocoder_config,
                    limits=backend.limits, settings=settings_from(_args(**kw), backend))


def test_a_long_line_is_one_wav_of_its_pieces_and_pauses(backend, tmp_path):
    f = tmp_path / "l.txt"
    f.write_text(f"{LONG}\nShort line.\n")
    out = tmp_path / "o"
    assert main(["synthesize", "-i", str(f), "-o", str(out), *EAGER, "--max-piece-tokens", "60",
                 "--sentence-pause-ms", "200", "--clause-pause-ms", "50", "--sample-format", "float32",
                 "--normalize", "none"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["audio_0.wav", "audio_1.wav"]
    lf = LongForm(_pipe(backend), pauses=Pauses(200, 50), max_piece_tokens=60)
    u, short = list(lf.synthesize([LONG, "Short line."], 3))
    assert isinstance(u, LineUtterance) and not isinstance(short, LineUtterance)
    pieces = list(lf.pieces([LONG]))
    assert len(pieces) == len(u.pieces) >= 6 and {p.sentence for p in pieces} == {1, 2, 3, 4}
    rate = backend.vocoder_config.sampling_rate
    pause = [round(p.pause_ms * rate / 1000) for p in pieces]
    assert pause[-1] == 0 and set(pause[:-1]) == {round(0.2 * rate), round(0.05 * rate)}
    assert u.audio.size == sum(v.audio.size for v in u.pieces) + sum(pause)
    at = 0
    for v, gap in zip(u.pieces, pause):                   # each piece's audio, then exactly its pause of zeros
        np.testing.assert_array_equal(u.audio[at:at + v.audio.size], v.audio)
        assert not u.audio[at + v.audio.size:at + v.audio.size + gap].any()
        at += v.audio.size + gap
    wav, r = read_wav(out / "audio_0.wav")
    assert r == rate and wav.shape == u.audio.shape
    np.testing.assert_allclose(wav, np.clip(u.audio, -1, 1), atol=1e-6)      # the WAV writer clips to [-1, 1]


def test_pieces_in_a_batch_equal_their_own_single_runs(backend):
    """A ragged batch of 4 pieces (of two lines) against each piece synthesized alone under its own key."""
    pipe = _pipe(backend)
    lf = LongForm(pipe, max_piece_tokens=40)
    lines = [LONG[:300], "A second line, also split: into clauses, and words."]
    joined = list(lf.synthesize(lines, 4))
    pieces = list(lf.pieces(lines))
    got = [v for u in joined for v in getattr(u, "pieces", [u])]
    assert len(got) == len(pieces) > 4 and len({v.audio.size for v in got}) > 2
    for p, v in zip(pieces, got):
        alone = pipe.synthesize_batch([p.text], [p.ids], indices=[p.key]).utterances[0]
        assert v.audio.shape == alone.audio.shape
        np.testing.assert_allclose(v.audio, alone.audio, atol=1e-5 * np.abs(alone.audio).max())
    # piece 0 of a line keeps the line's own randomness: a one-piece line equals the unsplit pipeline
    one = list(LongForm(pipe).synthesize(["Short line."]))[0]
    np.testing.assert_array_equal(one.audio, next(pipe.synthesize(["Short line."])).utterances[0].audio)


def test_split_none_still_refuses_an_over_limit_line(tmp_path, capsys):
    f = tmp_path / "l.txt"
    f.write_text(SENTENCE * 3 + "\n")
    assert main(["synthesize", "-i", str(f), "-o", str(tmp_path / "o"), *EAGER, "--split", "none"]) == 2
    err = capsys.readouterr().err
    assert "line 1 has 486 tokens; the engines allow at most 256" in err and not (tmp_path / "o").exists()
    assert main(["synthesize", "-i", str(f), "-o", str(tmp_path / "o"), *EAGER]) == 0
    assert "3 pieces" in capsys.readouterr().out


@pytest.mark.parametrize("stream", [False, True])
def test_a_piece_at_the_step_cap_is_named_with_its_line_and_sentence(tmp_path, caplog, capsys, stream):
    f = tmp_path / "l.txt"
    f.write_text("Fine.\nFirst sentence here. Second sentence there.\n")
    caplog.set_level(logging.WARNING)
    assert main(["synthesize", "-i", str(f), "-o", str(tmp_path / "o"), *EAGER, "--max-decoder-steps", "20",
                 "--gate-threshold", "0.99999", "--max-piece-tokens", "64", "--normalize", "none",
                 *(["--stream"] if stream else [])]) == 0
    said = [r.getMessage() for r in caplog.records if "step cap" in r.getMessage()]
    assert any(m.startswith("line 2, sentence 2 (piece 2) reached the decoder step cap (20 steps) without the gate "
                            "firing; its audio may end in noise: 'Second sentence there.'") for m in said), said
    assert any(m.startswith("line 1 reached the decoder step cap") for m in said), said
    if not stream:
        assert "(1 piece(s) hit the step cap" not in capsys.readouterr().out   # both pieces did
    assert len(said) == 3


def test_streaming_yields_the_first_sentence_before_later_ones_are_split_or_encoded(backend, monkeypatch):
    import pysbd
    from trtnet.runtime.text import longform as text_longform
    events: list[str] = []
    segment = pysbd.Segmenter.segment
    monkeypatch.setattr(pysbd.Segmenter, "segment", lambda self, t: (events.append("split"), segment(self, t))[1])
    pipe = _pipe(backend)

    class Recorded:
        def __init__(self, inner):
            self.inner, self.io = inner, inner.io

        def run(self, feeds):
            events.append("encode")
            return self.inner.run(feeds)
    pipe.sessions["encoder"] = Recorded(pipe.sessions["encoder"])
    for n in (1, 8):                                       # the paragraph 8 times as long: the same order
        events.clear()
        line = " ".join([SENTENCE] * (text_longform.WINDOW // len(SENTENCE) + 2) * n)
        for c in LongForm(pipe).stream([line], 1, chunk_frames=4):
            events.append("chunk" if c.audio.size else "empty")
            if events.count("encode") > 2:                 # the third sentence is being decoded: enough
                break
        first = events.index("chunk")
        assert events[:first].count("encode") == 1 and events[:first].count("split") == 1, events[:first + 1]
        assert events.index("encode", first) > first
