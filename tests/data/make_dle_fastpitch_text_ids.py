"""Make dle_fastpitch_text_ids.json.gz: generated sentences and the ids DLE's FastPitch front end gives them.

DLE's code is not part of trtnet: run this in a throwaway environment that has it, e.g.

    python -m venv /tmp/dle && /tmp/dle/bin/pip install inflect numpy
    # a DeepLearningExamples checkout: PyTorch/SpeechSynthesis/FastPitch is the directory holding common/text
    /tmp/dle/bin/python tests/data/make_dle_fastpitch_text_ids.py --dle DLE/PyTorch/SpeechSynthesis/FastPitch

The ids are ``TextProcessing('english_basic', ['english_cleaners_v2'], p_arpabet=0.0).encode_text(sentence)``
(FastPitch's ``inference.py`` without ARPAbet).  The sentences are make_dle_text_ids.py's generator (plain
words, numbers, money, abbreviations, punctuation, ARPAbet, non-ASCII, whitespace-like characters) plus what
``english_cleaners_v2`` reads on its own: acronyms, letters with numbers, units, dimensions, times with am/pm,
Roman numerals, money with magnitudes (€, ₩, "$5m"), "No. 5", ½, web addresses and slashes.
"""

from __future__ import annotations

import argparse
import random
import sys
import warnings
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from make_dle_text_ids import WORDS, number, sentence, write_fixture  # noqa: E402  (the Tacotron 2 fixture's)

V2 = ("NASA", "FBI", "GPUs", "TV's", "the USA.", "U.S.", "NVIDIA", "CEOs", "an email", "DNA", "iPhone", "McDonald",
      "A4", "3D", "RTX4090", "COVID19", "1990s", "80's", "AK47's", "B2B", "MP3", "4K", "5GB", "2.5 GHz", "10mm",
      "512 MB", "3,5kb", "2x4", "3 x 4 x 5m", "10x20in", "7 am", "3pm", "10:30AM", "12:00 PM", "9:05pm", "11 P.M.",
      "World War II", "Henry VIII", "XIV", "MCMXCIX", "Louis XVI", "IV", "$5m", "$5 million", "€2 billion",
      "₩1000", "$1.5 million", "£3 hundred", "€3.50", "$1,000.50", "$.5", "$0", "€1", "₩1", "$12.345.6",
      "No. 5", "no.12", "50 %", "½", "2½", "example.com", "nvidia.gov", "and/or", "a//b", "Ms. Jones",
      "Sen. Smith", "etc.", "2000s", "1200", "12300", "1905", "2017", "2001", "1000000", "0", "100th", "21st",
      "3.14", "-7", "10-20", "{HH AH0 L OW1}", "{ }", "{B}", "A&B", "@home", "R&D", "#1", "1,5")


def v2_sentence(rng: random.Random, i: int) -> str:
    if i % 3:
        return sentence(rng, i)
    words = [rng.choice(WORDS) for _ in range(rng.randrange(2, 9))]
    for _ in range(rng.randrange(1, 4)):
        piece = rng.choice(V2) if rng.random() < 0.8 else number(rng)
        words.insert(rng.randrange(len(words) + 1), piece)
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice((".", "!", "?", "", ";"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dle", required=True, help="directory holding common/text of a DeepLearningExamples checkout")
    ap.add_argument("-n", type=int, default=3000, help="number of sentences (default 3000)")
    ap.add_argument("--dle-commit", default=None, help="the checkout's commit, when --dle is not a git work tree")
    ap.add_argument("-o", default=str(Path(__file__).with_name("dle_fastpitch_text_ids.json.gz")))
    args = ap.parse_args()
    sys.path.insert(0, args.dle)
    from common.text.text_processing import TextProcessing
    tp = TextProcessing("english_basic", ["english_cleaners_v2"], p_arpabet=0.0)
    warnings.simplefilter("ignore")   # DLE warns once per line about characters it drops
    rng = random.Random(30)
    items, failed = [], 0
    for i in range(args.n):
        text = v2_sentence(rng, i)
        try:
            items.append([text, tp.encode_text(text)])
        except Exception:             # DLE raises on a few inputs (numbers past inflect's range): left out
            failed += 1
    write_fixture(args, "tests/data/make_dle_fastpitch_text_ids.py", items, inflect=version("inflect"),
                  symbol_set="english_basic", text_cleaners=["english_cleaners_v2"])
    print(f"{args.o}: {len(items)} sentences ({failed} that DLE raised on left out)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
