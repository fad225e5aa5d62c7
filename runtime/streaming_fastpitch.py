"""Streaming for a non-autoregressive acoustic model (FastPitch): the whole mel comes from one run, then the
vocoder and its denoiser stream over it in chunks of ``chunk_frames`` mel frames with real context on each side
(``streaming.ItemStream`` without its post-net stage), so the first audio is ready after one chunk of vocoding
instead of the whole utterance.  Chunks concatenate to the unchunked audio within the vocoder's streaming
tolerance (README "Streaming").  Numpy only."""

from __future__ import annotations

import math
import time
from typing import Any, Iterator, Sequence

import numpy as np

from .batching import pad_batch
from .streaming import DEFAULT_CHUNK_FRAMES, AudioChunk, Contexts, ItemStream, check_stream_args, to_int16


class MelStream:
    """Iterate for :class:`AudioChunk` s: the acoustic model once, then every utterance's audio chunk by chunk."""

    def __init__(self, pipe: Any, ids: Sequence[Sequence[int]], first_index: int = 0, *,
                 chunk_frames: int = DEFAULT_CHUNK_FRAMES, vocoder_context: int | None = None,
                 dtype: str = "float32", indices: Sequence[int] | None = None):
        check_stream_args(dtype, chunk_frames)
        self.pipe, self.ids, self.dtype, self.chunk_frames = pipe, list(ids), dtype, chunk_frames
        self.indices = list(range(first_index, first_index + len(ids))) if indices is None else list(indices)
        cfg = pipe.vocoder_config
        voc = pipe.vocoder.stream_context if vocoder_context is None else vocoder_context
        self.contexts = Contexts(0, voc, math.ceil(getattr(cfg, "stft_filter_length", 0) / cfg.upsample_stride))
        self.items = [ItemStream(pipe, i, self.contexts, 0, with_postnet=False) for i in self.indices]
        self.cap = pipe.settings.max_decoder_steps

    def __iter__(self) -> Iterator[AudioChunk]:
        clock = time.perf_counter()
        tokens, lengths = pad_batch(self.ids)
        out = self.pipe.acoustic.generate(self.pipe, tokens, lengths, self.indices)
        for b, item in enumerate(self.items):
            n = int(out.mel_lengths[b])
            for start in range(0, max(n, 1), self.chunk_frames):
                stop = min(n, start + self.chunk_frames)
                audio = item.push(np.ascontiguousarray(out.mel[b:b + 1, :, start:stop]), stop >= n, n)
                if audio.size or item.ended:
                    data = to_int16(audio) if self.dtype == "int16" else audio
                    yield AudioChunk(b, item.index, item.emitted - audio.size, data, item.ended,
                                     time.perf_counter() - clock, item.ended and n >= self.cap)
                    clock = time.perf_counter()
