"""``--text-frontend nemo``: NVIDIA's ``nemo_text_processing`` English normaliser (the ``[tn]`` extra).

Its grammars are compiled with pynini on first use (minutes) and cached as .far files under the weights cache,
keyed by the installed versions (``<cache>/nemo-tn/<nemo_text_processing>-<pynini>``, so an upgrade never loads
stale grammars), and later runs load them in seconds.  One normaliser per process.
"""

from __future__ import annotations

import functools

from .result import TextError

EXTRA = "tn"


class MissingExtraError(TextError):
    """An optional front end's packages are not installed; the message names the extra."""


@functools.lru_cache(maxsize=1)
def _normalizer():
    try:
        from nemo_text_processing.text_normalization.normalize import Normalizer
    except ImportError as e:
        raise MissingExtraError(f"--text-frontend nemo needs nemo_text_processing and pynini ({e}); install the "
                                f"extra: pip install 'trtnet[{EXTRA}]'") from None
    from importlib.metadata import version

    from trtnet.weights.cache import cache_dir
    cache = cache_dir() / "nemo-tn" / f"{version('nemo_text_processing')}-{version('pynini')}"
    cache.mkdir(parents=True, exist_ok=True)
    return Normalizer(input_case="cased", lang="en", cache_dir=str(cache), overwrite_cache=False)


def nemo_normalize(line: str) -> str:
    """The line with numbers, dates, money, measures ... written out by NeMo's English grammars."""
    return _normalizer().normalize(line, punct_post_process=True)
