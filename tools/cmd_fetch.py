"""``trtnet fetch NAME_OR_URL...``: download published checkpoints (or URLs) into the weights cache and print
where each landed; ``trtnet fetch --list``: the published names, their models, sources and URLs."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", metavar="NAME_OR_URL",
                   help="published checkpoint names (see --list) or http(s) URLs")
    p.add_argument("--list", action="store_true", help="print the published checkpoints and exit (default off)")
    p.add_argument("--cache-dir", default=None, metavar="DIR",
                   help="weights cache (default: $TRTNET_CACHE, else ~/.cache/trtnet)")


def run(args: argparse.Namespace) -> int:
    from ..files import file_sha256
    from ..weights.cache import cache_dir
    from ..weights.published import text_table
    from .common import local_checkpoint
    if args.list:
        print(text_table())
        print("sha256 'not pinned': no published hash is known; each download records the sha256 it got and "
              "checks it before reuse")
        return 0
    if not args.names:
        raise ValueError("name at least one checkpoint or URL (trtnet fetch --list names them)")
    cache = cache_dir(args.cache_dir)
    for spec in args.names:
        path = local_checkpoint(spec, cache, None, "")
        print(f"{spec}: {path} ({path.stat().st_size / 1e6:.1f} MB, sha256 {file_sha256(path)})")
    return 0
