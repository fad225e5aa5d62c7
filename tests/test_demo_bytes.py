"""Demo checkpoints are byte-reproducible: the same size and seed give identical files in any directory and any
process, so a shared weights cache keeps its extracted .h5 instead of extracting again."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from trtnet.weights.demo import write_demo_checkpoints

KINDS = ("tacotron2", "waveglow", "hifigan")


def test_two_generations_in_other_directories_and_processes_give_identical_bytes(tmp_path):
    here = write_demo_checkpoints(tmp_path / "a", "small", seed=0, kinds=KINDS)
    code = ("import sys; from trtnet.weights.demo import write_demo_checkpoints; "
            f"write_demo_checkpoints(sys.argv[1], 'small', seed=0, kinds={KINDS!r})")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "b" / "nested")], check=True, timeout=600)
    for kind, path in here.items():
        other = tmp_path / "b" / "nested" / path.name
        assert other.read_bytes() == path.read_bytes(), kind
        assert {n.split("/")[0] for n in zipfile.ZipFile(path).namelist()} == {"archive"}
