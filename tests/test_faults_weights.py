"""Fault cases of the weights side (issue 14): each makes its own bad file and checks the one-line error and
that nothing was written or overwritten."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from trtnet.tools.cli import main as cli_main
from trtnet.weights import checks, demo
from trtnet.weights.checkpoint import save_checkpoint
from trtnet.weights.config import ConfigError, Tacotron2Config, WaveGlowConfig
from trtnet.weights.errors import (ContentHashError, NonFiniteWeightError, OutputPathError, SymbolTableError,
                                   WeightsFormatError, WrongArchitectureError)
from trtnet.weights.extract import extract
from trtnet.files import file_sha256
from trtnet.weights.hdf5 import write_weights
from trtnet.weights.hparams import NOT_INFERRED
from trtnet.weights.schema import dle_shapes, expected_shapes
from trtnet.weights.sources import resolve
from trtnet.weights.store import WeightStore

T2, WG = demo.demo_configs("small")
WG_SETTINGS = {f: getattr(WG, f) for f in NOT_INFERRED["waveglow"]}  # what the shapes of WG cannot tell
N_SYMBOLS = T2.n_symbols


def _sd(config, seed: int = 0) -> dict[str, np.ndarray]:
    """Tame random tensors in the DLE layout (convinv near the identity, so WaveGlow stays finite)."""
    rng = np.random.default_rng(seed)
    sd = {k: (0.05 * rng.standard_normal(s)).astype(np.float32) for k, s in dle_shapes(config).items()}
    for k in (k for k in sd if k.startswith("convinv.")):
        sd[k] += np.eye(sd[k].shape[0], dtype=np.float32)[:, :, None]
    return sd


def _t2_ckpt(path: Path, seed: int = 0, config=T2) -> Path:
    return save_checkpoint(path, _sd(config, seed), config=config.to_dict())


def _t2_h5(tmp_path: Path, name: str = "t2.h5") -> Path:
    return extract(_t2_ckpt(tmp_path / f"{name}.pt"), tmp_path / name).out_path


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _cli_error(capsys, *argv: str) -> str:
    """Run the CLI; assert exit 2 and exactly one stderr line; return it."""
    rc = cli_main(list(argv))
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    return err


# -- the extraction cache: keyed by content, not by size and mtime ----------------------------------------------
def test_changed_checkpoint_with_same_size_and_mtime_is_extracted_again(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    ckpt, work = _t2_ckpt(tmp_path / "t2.pt", seed=0), tmp_path / "work"
    first = resolve(ckpt, "tacotron2", work)
    stat = ckpt.stat()
    (tmp_path / "b").mkdir()
    other = _t2_ckpt(tmp_path / "b" / "t2.pt", seed=1).read_bytes()  # same name: same archive layout
    assert len(other) == stat.st_size
    ckpt.write_bytes(other)
    os.utime(ckpt, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime, other content
    assert (ckpt.stat().st_size, ckpt.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    for fresh_process in (False, True):
        if fresh_process:
            checks.forget_all()
        again = resolve(ckpt, "tacotron2", work)       # the cache is keyed by content: another file
        assert again.h5_path.name == f"tacotron2-{file_sha256(ckpt)[:16]}.h5" != first.h5_path.name
        with WeightStore.open(again.h5_path, "tacotron2") as store:
            assert store.source_sha256 == file_sha256(ckpt)
            np.testing.assert_array_equal(store.get("embedding.weight"), _sd(T2, seed=1)["embedding.weight"])
    caplog.clear()
    resolve(ckpt, "tacotron2", work)  # unchanged now: reused
    assert "reusing" in caplog.text


def test_work_dir_file_without_content_hash_is_extracted_again(tmp_path):
    ckpt, work = _t2_ckpt(tmp_path / "t2.pt"), tmp_path / "work"
    h5 = resolve(ckpt, "tacotron2", work).h5_path
    with h5py.File(h5, "a") as f:  # as written by a trtnet before content hashes
        del f.attrs["content_sha256"]
    assert resolve(ckpt, "tacotron2", work).h5_path == h5
    with h5py.File(h5, "r") as f:
        assert "content_sha256" in f.attrs


# -- extract-weights -o ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["same path", "symlink", "hard link"])
@pytest.mark.parametrize("force", [False, True])
def test_output_that_is_the_input_is_refused(tmp_path, capsys, how, force):
    ckpt = _t2_ckpt(tmp_path / "in.pt")
    out = {"same path": ckpt, "symlink": tmp_path / "link.h5", "hard link": tmp_path / "hard.h5"}[how]
    if how == "symlink":
        out.symlink_to(ckpt)
    elif how == "hard link":
        os.link(ckpt, out)
    before = _listing(tmp_path)
    err = _cli_error(capsys, "extract-weights", str(ckpt), "-o", str(out), *(["--force"] if force else []))
    assert err == (f"trtnet extract-weights: error: OutputPathError: {out}: is the input {ckpt} itself (same file); "
                   "choose another output path")
    assert _listing(tmp_path) == before


def test_existing_output_is_replaced_only_with_force(tmp_path, capsys):
    ckpt, out = _t2_ckpt(tmp_path / "in.pt"), tmp_path / "out.h5"
    out.write_bytes(b"previous")
    before = _listing(tmp_path)
    err = _cli_error(capsys, "extract-weights", str(ckpt), "-o", str(out))
    assert err == (f"trtnet extract-weights: error: OutputPathError: {out}: exists; pass --force (overwrite=True) "
                   "to replace it")
    assert _listing(tmp_path) == before
    assert cli_main(["extract-weights", str(ckpt), "-o", str(out), "--force"]) == 0
    with WeightStore.open(out, "tacotron2") as store:
        assert store.config.architecture_dict() == T2.architecture_dict()


def test_output_directory_that_cannot_be_written(tmp_path, capsys):
    ckpt = _t2_ckpt(tmp_path / "in.pt")
    (tmp_path / "file").write_bytes(b"x")
    err = _cli_error(capsys, "extract-weights", str(ckpt), "-o", str(tmp_path / "file" / "out.h5"))
    assert err == (f"trtnet extract-weights: error: OutputPathError: {tmp_path / 'file' / 'out.h5'}: output "
                   f"directory {tmp_path / 'file'} does not exist")
    locked = _unwritable_dir(tmp_path)
    err = _cli_error(capsys, "extract-weights", str(ckpt), "-o", str(locked / "out.h5"))
    assert err == (f"trtnet extract-weights: error: OutputPathError: {locked}: cannot write out.h5 here "
                   "(Permission denied); choose another output directory")
    assert not (locked / "out.h5").exists()


def test_help_states_the_defaults(capsys):
    with pytest.raises(SystemExit):
        cli_main(["extract-weights", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--force replace an existing --output file (default: refuse to overwrite it)" in text
    assert "--gate-threshold X tacotron2 only, a finite number in (0, 1) (default: 0.5)" in text
    assert "--max-decoder-steps N tacotron2 only, an int >= 1 (default: 2000)" in text


# -- settings: range-checked at the command line and whenever a config is built ---------------------------------
@pytest.mark.parametrize("flag, value, rule", [
    ("--max-decoder-steps", "-3", "an int >= 1"),
    ("--max-decoder-steps", "0", "an int >= 1"),
    ("--gate-threshold", "nan", "a finite number in (0, 1)"),
    ("--gate-threshold", "1", "a finite number in (0, 1)"),
    ("--gate-threshold", "0", "a finite number in (0, 1)"),
    ("--sigma", "-0.5", "a finite number >= 0"),
    ("--denoiser-strength", "inf", "a finite number >= 0"),
    ("--upsample-stride", "0", "an int >= 1"),
    ("--max-decoder-steps", "2.5", "an int >= 1"),
])
def test_out_of_range_settings_are_refused_at_parse_time(tmp_path, capsys, flag, value, rule):
    ckpt = _t2_ckpt(tmp_path / "in.pt")
    before = _listing(tmp_path)
    with pytest.raises(SystemExit) as e:
        cli_main(["extract-weights", str(ckpt), "-o", str(tmp_path / "out.h5"), flag, value])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and err[0].startswith("usage: trtnet extract-weights")
    assert err[-1] == f"trtnet extract-weights: error: argument {flag}: {value!r} is not {rule}"
    assert _listing(tmp_path) == before


@pytest.mark.parametrize("cls, field, value, rule", [
    (Tacotron2Config, "max_decoder_steps", -3, "an int >= 1"),
    (Tacotron2Config, "max_decoder_steps", 2.0, "an int >= 1"),
    (Tacotron2Config, "gate_threshold", float("nan"), "a finite number in (0, 1)"),
    (Tacotron2Config, "prenet_dropout", 1.0, "a finite number in [0, 1)"),
    (Tacotron2Config, "n_symbols", True, "an int >= 1"),
    (Tacotron2Config, "encoder_embedding_dim", "512", "an int >= 1"),
    (WaveGlowConfig, "sigma", float("-inf"), "a finite number >= 0"),
    (WaveGlowConfig, "denoiser_strength", -0.01, "a finite number >= 0"),
    (WaveGlowConfig, "n_early_size", -2, "an int >= 0"),
])
def test_configs_are_range_checked_when_built(cls, field, value, rule):
    with pytest.raises(ConfigError) as e:
        cls.from_dict({**cls().to_dict(), field: value})
    assert str(e.value) == f"{cls.__name__}.{field} must be {rule}, got {value!r}"
    assert (e.value.field, e.value.allowed) == (field, rule)
    with pytest.raises(ConfigError):
        cls().replace(**{field: value})


def test_config_json_is_strict():
    assert WaveGlowConfig(sigma=1).sigma == 1.0 and isinstance(WaveGlowConfig(sigma=1).sigma, float)
    with pytest.raises(ValueError, match="NaN is not valid JSON"):
        Tacotron2Config.from_json(Tacotron2Config().to_json().replace('"gate_threshold": 0.5', '"gate_threshold": NaN'))
    with pytest.raises(ConfigError, match="the config is a str, expected a dict"):
        Tacotron2Config.from_json('"n_symbols=148"')


def test_string_config_in_a_checkpoint(tmp_path, capsys):
    ckpt = tmp_path / "in.pt"
    torch.save({"config": "n_symbols=148", "state_dict": {k: torch.from_numpy(v) for k, v in _sd(T2).items()}}, ckpt)
    err = _cli_error(capsys, "extract-weights", str(ckpt), "-o", str(tmp_path / "out.h5"))
    assert err == (f"trtnet extract-weights: error: ConfigError: {ckpt}: the checkpoint's 'config' entry is a str, "
                   "expected a dict of DLE constructor arguments; re-save the checkpoint with a dict config or none")
    assert not (tmp_path / "out.h5").exists()


def test_bad_config_value_in_a_checkpoint_names_the_file(tmp_path, capsys):
    sd = {k: torch.from_numpy(v) for k, v in _sd(WG).items()}
    ckpt = tmp_path / "wg.pt"
    torch.save({"config": {**WG_SETTINGS, "upsample_stride": -16}, "state_dict": sd}, ckpt)
    err = _cli_error(capsys, "extract-weights", str(ckpt), "-o", str(tmp_path / "out.h5"))
    assert err == (f"trtnet extract-weights: error: ConfigError: {ckpt}: WaveGlowConfig.upsample_stride must be an "
                   "int >= 1, got -16")


# -- values checked when a file is opened ------------------------------------------------------------------------
def _arrays(config, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(np.float32) for k, s in expected_shapes(config).items()}


def test_nan_h5_is_refused_when_opened(tmp_path, capsys):
    arrays = _arrays(T2)
    arrays["decoder.attention_rnn.weight_hh"][2, :3] = [np.nan, np.inf, -np.inf]
    h5 = write_weights(tmp_path / "nan.h5", T2, arrays, tmp_path / "t2.pt", "ab" * 32)  # --allow-nonfinite made it
    message = (f"{h5}: NaN/Inf values in 1 tensor(s): decoder.attention_rnn.weight_hh (3) (engines cannot be built "
               "from it: re-extract it from a checkpoint with finite weights)")
    for _ in range(2):  # also when the file state was already checked in this process
        with pytest.raises(NonFiniteWeightError) as e:
            WeightStore.open(h5)
        assert str(e.value) == message and e.value.counts == {"decoder.attention_rnn.weight_hh": 3}
    err = _cli_error(capsys, "build-engines", "--tacotron2", str(h5), "--engines", "encoder", "-o",
                     str(tmp_path / "engines"))
    assert err == f"trtnet build-engines: error: NonFiniteWeightError: {message}"
    assert not list((tmp_path / "engines").glob("*.plan"))
    with WeightStore.open(h5, allow_nonfinite=True) as store:
        assert np.isnan(store.get("decoder.attention_rnn.weight_hh")[2, 0])


@pytest.mark.parametrize("edit", ["tensor value", "config attribute", "source hash"])
def test_edited_h5_is_refused(tmp_path, edit):
    h5 = _t2_h5(tmp_path)
    with WeightStore.open(h5):  # passes, and this file state is remembered
        pass
    stat = h5.stat()
    with h5py.File(h5, "r+") as f:
        if edit == "tensor value":
            f["embedding.weight"][3, 1] = 7.0
        elif edit == "config attribute":
            f.attrs["config"] = f.attrs["config"].replace('"gate_threshold": 0.5', '"gate_threshold": 0.6')
        else:
            f.attrs["source_sha256"] = "cd" * 32
    os.utime(h5, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(ContentHashError) as e:
        WeightStore.open(h5)
    recorded, actual = e.value.expected, e.value.actual
    assert recorded != actual and str(e.value) == (
        f"{h5}: contents differ from the content_sha256 written at extraction (recorded {recorded[:12]}…, now "
        f"{actual[:12]}…): the file was edited or is corrupt; re-extract it")


def test_flipped_bytes_inside_a_dataset(tmp_path):
    h5 = _t2_h5(tmp_path)
    with h5py.File(h5, "r") as f:
        offset = f["decoder.gate_layer.linear_layer.weight"].id.get_offset()
    with open(h5, "r+b") as fh:
        fh.seek(offset + 4)
        byte = fh.read(1)
        fh.seek(offset + 4)
        fh.write(bytes([byte[0] ^ 0x40]))
    with pytest.raises(ContentHashError, match="the file was edited or is corrupt; re-extract it"):
        WeightStore.open(h5)


def test_file_without_content_hash(tmp_path):
    h5 = _t2_h5(tmp_path)
    with h5py.File(h5, "r+") as f:
        del f.attrs["content_sha256"]
    with pytest.raises(ContentHashError) as e:
        WeightStore.open(h5)
    from trtnet.version import __version__
    assert str(e.value) == (f"{h5}: no content_sha256 attribute (extracted by trtnet {__version__}, before files "
                            "carried a hash of their contents): re-extract it with trtnet extract-weights CHECKPOINT "
                            "-o FILE --force")


def test_values_are_checked_once_per_file_state_and_process(tmp_path, monkeypatch):
    h5 = _t2_h5(tmp_path)
    calls = []
    original = checks.hash_and_count
    monkeypatch.setattr(checks, "hash_and_count", lambda *a: calls.append(1) or original(*a))
    checks.forget_all()  # as a new process
    for _ in range(3):
        WeightStore.open(h5).close()
    assert len(calls) == 1
    checks.forget_all()
    WeightStore.open(h5).close()
    assert len(calls) == 2
    os.utime(h5)  # another file state
    WeightStore.open(h5).close()
    assert len(calls) == 3


def test_truncated_h5(tmp_path, capsys):
    h5 = _t2_h5(tmp_path)
    data = h5.read_bytes()
    h5.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsFormatError) as e:
        WeightStore.open(h5)
    text = str(e.value)
    assert text.startswith(f"{h5}: cannot read it as HDF5 (truncated or corrupt?): truncated file: eof = ")
    assert text.endswith("; re-extract it") and "\n" not in text


@pytest.mark.parametrize("hostile", ["external storage", "soft link", "external link"])
def test_hostile_h5_entries_are_refused(tmp_path, hostile):
    h5, secret = _t2_h5(tmp_path), tmp_path / "secret.bin"
    secret.write_bytes(np.ones(16, np.float32).tobytes())
    key = "decoder.gate_layer.linear_layer.bias"
    with h5py.File(h5, "r+") as f:
        del f[key]
        if hostile == "external storage":
            f.create_dataset(key, shape=(1,), dtype=np.float32, external=[(str(secret), 0, 4)])
            what = "external storage"
        elif hostile == "soft link":
            f[key] = h5py.SoftLink("/decoder.gate_layer.linear_layer.weight")
            what = "SoftLink"
        else:
            f[key] = h5py.ExternalLink(str(secret), "/x")
            what = "ExternalLink"
    with pytest.raises(WeightsFormatError) as e:
        WeightStore.open(h5)
    assert str(e.value) == (f"{h5}: entries stored outside the file: ['{key} ({what})']; trtnet files keep every "
                            "tensor inside the file: re-extract it")


# -- symbol table ------------------------------------------------------------------------------------------------
def test_embedding_rows_must_match_the_symbol_table(tmp_path, capsys):
    other = T2.replace(n_symbols=N_SYMBOLS + 2)
    ckpt = _t2_ckpt(tmp_path / "in.pt", config=other)
    message = (f"embedding.weight has {N_SYMBOLS + 2} rows but the text front end has {N_SYMBOLS} symbols; this "
               "Tacotron 2 was trained with another symbol set, which trtnet does not support")
    err = _cli_error(capsys, "extract-weights", str(ckpt), "-o", str(tmp_path / "out.h5"))
    assert err == f"trtnet extract-weights: error: SymbolTableError: {ckpt}: {message}"
    assert not (tmp_path / "out.h5").exists()
    h5 = write_weights(tmp_path / "rows.h5", other, _arrays(other), ckpt, "ab" * 32)  # made by other means
    with pytest.raises(SymbolTableError) as e:
        WeightStore.open(h5)
    assert str(e.value) == f"{h5}: {message}" and (e.value.rows, e.value.symbols) == (N_SYMBOLS + 2, N_SYMBOLS)


# -- errors that used to leak internals --------------------------------------------------------------------------
def test_swapped_h5_files(tmp_path, capsys):
    t2 = write_weights(tmp_path / "t2.h5", T2, _arrays(T2), tmp_path / "t2.pt", "ab" * 32)
    wg = write_weights(tmp_path / "wg.h5", WG, _arrays(WG), tmp_path / "wg.pt", "cd" * 32)
    with pytest.raises(WrongArchitectureError) as e:
        resolve(wg, "tacotron2", tmp_path / "work")
    assert str(e.value) == (f"{wg} holds waveglow weights; --tacotron2 needs tacotron2 weights (were the two files "
                            "swapped?)")
    with pytest.raises(WrongArchitectureError, match=f"{t2} holds tacotron2 weights; --waveglow needs waveglow"):
        WeightStore.open(t2, "waveglow")
    err = _cli_error(capsys, "build-engines", "--tacotron2", str(wg), "--waveglow", str(t2), "--engines", "encoder",
                     "-o", str(tmp_path / "engines"))
    assert err == f"trtnet build-engines: error: WrongArchitectureError: {str(e.value)}"


def test_singular_convinv_is_named(tmp_path, capsys):
    sd = _sd(WG)
    sd["convinv.2.conv.weight"][:, 1] = sd["convinv.2.conv.weight"][:, 0]  # two equal columns: rank deficient
    ckpt = save_checkpoint(tmp_path / "wg.pt", sd, config=WG_SETTINGS)
    err = _cli_error(capsys, "extract-weights", str(ckpt), "-o", str(tmp_path / "out.h5"))
    assert err == (f"trtnet extract-weights: error: SingularWeightError: {ckpt}: convinv.2.conv.weight is not "
                   "invertible (singular matrix); WaveGlow needs an invertible 1x1 convolution: the checkpoint is "
                   "corrupt")
    assert not (tmp_path / "out.h5").exists()


def _unwritable_dir(tmp_path: Path) -> Path:
    """A directory that exists but refuses new files (root ignores modes: then a read-only system folder)."""
    locked = tmp_path / "locked"
    locked.mkdir(exist_ok=True)
    locked.chmod(0o555)
    for candidate in (locked, Path("/sys")):
        try:
            (candidate / ".probe").touch()
        except OSError:
            return candidate
        (candidate / ".probe").unlink()
    pytest.skip("no unwritable directory here (root on a writable /sys)")


def test_demo_checkpoints_into_an_unwritable_directory(tmp_path, capsys):
    locked = _unwritable_dir(tmp_path)
    err = _cli_error(capsys, "demo-checkpoints", "-o", str(locked), "--size", "small")
    assert err == (f"trtnet demo-checkpoints: error: OutputPathError: {locked}: cannot write tacotron2_demo_small.pt "
                   "here (Permission denied); choose another output directory")
    (tmp_path / "file").write_bytes(b"x")
    err = _cli_error(capsys, "demo-checkpoints", "-o", str(tmp_path / "file" / "demo"), "--size", "small")
    assert err == (f"trtnet demo-checkpoints: error: OutputPathError: {tmp_path / 'file' / 'demo'}: cannot create "
                   "the directory (Not a directory); choose another")


def test_demo_checkpoint_write_failure_leaves_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(demo, "tacotron2_checkpoint", lambda cfg, seed: {"state_dict": {}})

    def full_disk(obj, f):          # the demo writer hands torch.save an open file
        f.write(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:747] . PytorchStreamWriter failed writing file "
                           "data/0: file write failed with strerror: No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    err = _cli_error(capsys, "demo-checkpoints", "-o", str(tmp_path), "--size", "small")
    assert err == (f"trtnet demo-checkpoints: error: OutputPathError: {tmp_path / 'tacotron2_demo_small.pt'}: cannot "
                   "be written (No space left on device); choose another output directory")
    assert list(tmp_path.iterdir()) == []

