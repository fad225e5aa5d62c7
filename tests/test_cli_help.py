"""What the CLI says about itself: --version lists the stack, --help has no markup, every flag states its
default."""

from __future__ import annotations

import argparse
import importlib.metadata

import pytest

from trtnet.tools import cli
from trtnet.tools.cli import main


def test_version_lists_the_stack(capsys):
    from trtnet.version import __version__
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    lines = capsys.readouterr().out.splitlines()
    assert info.value.code == 0 and lines[0] == f"trtnet {__version__}"
    said = dict(line.rsplit(" ", 1) if not line.startswith("CUDA driver") else ("CUDA driver", line[12:])
                for line in lines[1:])
    assert said["torch"] == importlib.metadata.version("torch")
    assert said["numpy"] == importlib.metadata.version("numpy")
    assert said["cuda-python"] == importlib.metadata.version("cuda-python")
    for module in ("tensorrt", "tensorrt_rtx"):            # every flavour importable here, with its version
        try:
            mod = __import__(module)
        except ImportError:
            assert module not in said
        else:
            assert said[module] == mod.__version__
    assert "CUDA driver" in said                           # a version, or "none (...)" without a driver


def test_version_without_cuda_python_or_driver_does_not_fail(monkeypatch, capsys):
    import sys
    monkeypatch.setitem(sys.modules, "cuda.bindings", None)
    monkeypatch.setitem(sys.modules, "cuda.bindings.runtime", None)
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and "CUDA driver unknown (cuda-python not importable)" in capsys.readouterr().out


def test_top_level_help_has_no_rst_markup(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "``" not in out and "The trtnet command" in out


def _options():
    for name in cli.COMMANDS:
        sub = next(a for a in cli._parser([name])._actions if isinstance(a, argparse._SubParsersAction))
        for a in sub.choices[name]._actions:
            if a.option_strings and not a.required and not isinstance(a, argparse._HelpAction) \
                    and a.help != argparse.SUPPRESS:
                yield name, a


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_optional_flag_states_its_default(command):
    missing = [f"{n} {'/'.join(a.option_strings)}" for n, a in _options() if n == command
               and "default" not in (a.help or "").lower()]
    assert not missing, f"flags whose help states no default: {missing}"


def test_work_dir_is_a_hidden_deprecated_alias_of_cache_dir(capsys):
    argv = ["synthesize", "-i", "x", "-o", "y", "--work-dir", "/tmp/somewhere"]
    assert cli._parser(argv).parse_args(argv).cache_dir == "/tmp/somewhere"
    assert "--work-dir is deprecated; use --cache-dir" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["synthesize", "--help"])
    out = capsys.readouterr().out
    assert "--cache-dir" in out and "--work-dir" not in out
