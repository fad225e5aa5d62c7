"""Make dle_text_ids.json.gz: generated sentences and the token ids DLE's own front end gives them.

DLE's code is not part of trtnet: run this in a throwaway environment that has it, e.g.

    python -m venv /tmp/dle && /tmp/dle/bin/pip install inflect
    # a DeepLearningExamples checkout: PyTorch/SpeechSynthesis/Tacotron2 is the directory holding tacotron2/text
    /tmp/dle/bin/python tests/data/make_dle_text_ids.py --dle DLE/PyTorch/SpeechSynthesis/Tacotron2

The sentences come from a seeded generator (plain words, numbers, money, abbreviations, punctuation, ARPAbet,
non-ASCII letters and symbols, whitespace-like characters, the symbols the default front end speaks); the ids
are DLE's ``text_to_sequence(sentence, ['english_cleaners'])``.

``--ascii-table runtime/text/dle_ascii.py`` also writes the ``dle`` front end's transliteration table: the
ASCII spelling DLE's ``unidecoder`` gives every non-ASCII code point it keeps (it drops all others).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import warnings
from pathlib import Path

WORDS = ("the quick brown fox jumps over lazy dog printed letters should be beautiful and their arrangement on page "
         "reasonable help to shapeliness of themselves doctor smith paid bill at store street saint louis company "
         "river mountain train station morning evening tomorrow yesterday weather report news music record "
         "people government market price water city house family school night world year time day").split()
ABBREVIATIONS = ("Mrs.", "Mr.", "Dr.", "St.", "Co.", "Jr.", "Maj.", "Gen.", "Drs.", "Rev.", "Lt.", "Hon.", "Sgt.",
                 "Capt.", "Esq.", "Ltd.", "Col.", "Ft.", "mr.", "DR.", "st.")
PUNCTUATION = "!'(),.:;?-"
ASCII_OTHER = "\"#$%&*+/<=>@[\\]^_`{|}~"
NON_ASCII = ("é è ê ë à â ä ç ñ ö ü ß ø å æ œ ł ń ś ź ż č ř š ž ő ű í ó ú ý ã õ É Ä Ö Ü Ç Ñ Ø Å Æ Œ Ł Š Ž "
             "‘ ’ “ ” « » „ ‚ – — … · • ½ ¼ ¾ ° © ® ™ × ÷ ± € £ ¥ ¢ ₹ § ¶ ¿ ¡ ² ³ µ "
             "α β γ Ω π λ д ж и я Ж Я 中 文 日 本 한 국 ا ل ع 🙂 🎉 👍 ❤ ✓ → ← ∞ ≈ ≠ ≤").split()
WHITESPACE = ("\t", "\v", "\f", "\u00a0", "\u2028", "\u2029", "\r", "\u202f", "\u3000", "\u2009")
NAMES = ("José Müller", "François Côté", "Zoë Brontë", "Đorđe Novak", "Øyvind Ås", "Łukasz Wójcik", "Søren Kierkegaard",
         "Ångström", "naïve café", "déjà vu", "Antonín Dvořák", "Björk Guðmundsdóttir", "Mötley Crüe", "São Paulo")
SPOKEN = ("50%", "A & B", "me@example.com", "#5", "room #12", "2+2=4", "12/05/2024", "1/2", "3/4 cup", "30°C", "72°F",
          "€5", "€3.50", "£3.50", "£10", "¥100", "5€", "3:30 pm", "10:05 a.m.", "15:45", "1st", "2nd", "23rd", "3.14",
          "1984", "2005", "$3.50", "$2,500", "$0.99", "-5", "10-20", "1,234,567", "007", "and/or", "x = y + z")
ARPABET = ("{HH AH0 L OW1}", "{W ER1 L D}", "{B}{CH}", "{XX AH0}", "{ }")


def number(rng: random.Random) -> str:
    kind = rng.randrange(7)
    n = rng.randrange(10 ** rng.randrange(1, 13))
    if kind == 0:
        return f"{n:,}"
    if kind == 1:
        return f"{n}.{rng.randrange(100):02d}"
    if kind == 2:
        return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10 if n % 100 not in (11, 12, 13) else 0, "th")
    if kind == 3:
        return str(rng.randrange(1000, 3000))
    if kind == 4:
        return rng.choice("$£€¥") + (f"{n:,}" if rng.random() < 0.5 else str(n)) + rng.choice(("", ".5", ".05", ".99"))
    if kind == 5:
        return f"{rng.randrange(1, 13)}:{rng.randrange(60):02d}" + rng.choice(("", " pm", " am", " p.m."))
    return str(n)


def sentence(rng: random.Random, i: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randrange(3, 12))]
    mode = i % 10
    for _ in range(rng.randrange(1, 4)):
        at = rng.randrange(len(words) + 1)
        if mode in (0, 1):      # plain words, numbers, money, punctuation from the table (what DLE handles)
            piece = rng.choice((number(rng), rng.choice(PUNCTUATION), rng.choice(ABBREVIATIONS), rng.choice(WORDS)))
        elif mode == 2:
            piece = rng.choice(ABBREVIATIONS) + " " + rng.choice(WORDS).title()
        elif mode == 3:
            piece = number(rng)
        elif mode == 4:
            piece = rng.choice(ASCII_OTHER + PUNCTUATION)
        elif mode == 5:
            piece = rng.choice(NON_ASCII)
        elif mode == 6:
            piece = rng.choice(NAMES)
        elif mode == 7:
            piece = rng.choice(SPOKEN)
        elif mode == 8:
            piece = rng.choice(WHITESPACE)
        else:
            piece = rng.choice(ARPABET + SPOKEN + NAMES)
        words.insert(at, piece)
    text = " ".join(words)
    text = text[0].upper() + text[1:]
    return text + rng.choice((".", "!", "?", "", ";", "..."))


def write_ascii_table(path: str) -> int:
    from tacotron2.text.unidecoder import unidecoder
    table = {c: unidecoder(c) for c in map(chr, range(128, 0x110000))}
    entries = [f"{ascii(c)}: {ascii(a)}," for c, a in table.items() if a]
    rows = [" ".join(entries[i:i + 7]) for i in range(0, len(entries), 7)]
    body = "\n".join("    " + r for r in rows)
    Path(path).write_text(
        '"""DLE\'s transliteration to ASCII (its ``unidecoder``): the spelling of every non-ASCII code point it keeps;\n'
        'every other one it drops.  Generated by tests/data/make_dle_text_ids.py --ascii-table; do not edit."""\n\n'
        f"DLE_ASCII: dict[str, str] = {{\n{body}\n}}\n", encoding="utf-8")
    return len(entries)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dle", required=True, help="directory holding tacotron2/text of a DeepLearningExamples checkout")
    ap.add_argument("-n", type=int, default=3000, help="number of sentences (default 3000)")
    ap.add_argument("--dle-commit", default=None, help="the checkout's commit, when --dle is not a git work tree")
    ap.add_argument("-o", default=str(Path(__file__).with_name("dle_text_ids.json.gz")))
    ap.add_argument("--ascii-table", default=None, help="also write DLE's transliteration table to this .py file")
    args = ap.parse_args()
    sys.path.insert(0, args.dle)
    if args.ascii_table:
        print(f"{args.ascii_table}: {write_ascii_table(args.ascii_table)} code points")
    from tacotron2.text import text_to_sequence
    warnings.simplefilter("ignore")   # DLE warns once per line about characters it drops
    rng = random.Random(22)
    items = []
    for i in range(args.n):
        text = sentence(rng, i)
        items.append([text, text_to_sequence(text, ["english_cleaners"])])
    write_fixture(args, "tests/data/make_dle_text_ids.py", items)
    print(f"{args.o}: {len(items)} sentences")
    return 0


def write_fixture(args: argparse.Namespace, made_by: str, items: list, **extra) -> None:
    """``args.o``: gzipped JSON of ``items`` with the DLE checkout's commit (``--dle-commit`` outside a git tree)."""
    commit = subprocess.run(["git", "-C", args.dle, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    doc = {"made_by": made_by, "dle_commit": commit or args.dle_commit or "unknown", **extra, "items": items}
    with gzip.open(args.o, "wt", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    raise SystemExit(main())
