"""WAV writing and reading: pcm16 and float32 round trips, clipping, header fields, errors."""

import logging
import struct
import wave

import numpy as np
import pytest

from trtnet.runtime.wav import WavError, read_wav, write_wav


@pytest.fixture
def tone():
    t = np.arange(2205, dtype=np.float32) / 22050
    return (0.8 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_pcm16_round_trip(tmp_path, tone):
    path = write_wav(tmp_path / "a.wav", tone)
    audio, rate = read_wav(path)
    assert rate == 22050 and audio.dtype == np.float32 and audio.shape == tone.shape
    np.testing.assert_allclose(audio, tone, atol=1.5 / 32768)
    with wave.open(str(path)) as w:   # a plain stdlib reader accepts it
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 22050, tone.size)


def test_float32_round_trip_is_exact(tmp_path, tone):
    path = write_wav(tmp_path / "f.wav", tone, sample_rate=16000, sample_format="float32")
    audio, rate = read_wav(path)
    assert rate == 16000
    np.testing.assert_array_equal(audio, tone)
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    tag, channels, rate, byte_rate, align, bits = struct.unpack("<HHIIHH", data[20:36])
    assert (tag, channels, rate, byte_rate, align, bits) == (3, 1, 16000, 64000, 4, 32)
    assert b"fact" in data and data.endswith(tone.astype("<f4").tobytes())


def test_int16_input_and_batch_of_one(tmp_path):
    pcm = np.array([[0, 1000, -32768, 32767]], dtype=np.int16)
    audio, _ = read_wav(write_wav(tmp_path / "i.wav", pcm))
    np.testing.assert_array_equal(audio, pcm[0] / 32768.0)
    audio, _ = read_wav(write_wav(tmp_path / "i32.wav", pcm, sample_format="float32"))
    np.testing.assert_array_equal(audio, (pcm[0] / 32768.0).astype(np.float32))


@pytest.mark.parametrize("fmt", ["pcm16", "float32"])
def test_clipping_is_counted_and_logged(tmp_path, caplog, fmt):
    loud = np.array([0.0, 1.5, -2.0, 0.5, 1.0], dtype=np.float64)
    with caplog.at_level(logging.WARNING, logger="trtnet.runtime.wav"):
        audio, _ = read_wav(write_wav(tmp_path / "c.wav", loud, sample_format=fmt))
    assert "clipped 2 of 5 samples" in caplog.text
    np.testing.assert_allclose(audio, [0.0, 1.0, -1.0, 0.5, 1.0], atol=1.5 / 32768)


def test_no_warning_without_clipping(tmp_path, caplog, tone):
    with caplog.at_level(logging.WARNING, logger="trtnet.runtime.wav"):
        write_wav(tmp_path / "q.wav", tone)
    assert caplog.text == ""


def test_atomic_write_leaves_only_the_file(tmp_path, tone):
    out = tmp_path / "sub" / "x.wav"
    write_wav(out, tone)
    write_wav(out, tone[:10])   # overwrite in place
    assert [p.name for p in out.parent.iterdir()] == ["x.wav"]
    assert read_wav(out)[0].size == 10


@pytest.mark.parametrize("audio, fmt, match", [
    (np.zeros((2, 10), np.float32), "pcm16", "mono"),
    (np.array([0.0, np.nan], np.float32), "pcm16", "NaN"),
    (np.zeros(4, np.int32), "pcm16", "dtype int32"),
    (np.zeros(4, np.float32), "pcm24", "sample_format"),
])
def test_write_errors(tmp_path, audio, fmt, match):
    with pytest.raises(WavError, match=match):
        write_wav(tmp_path / "e.wav", audio, sample_format=fmt)
    assert not (tmp_path / "e.wav").exists()


def test_read_errors(tmp_path):
    (tmp_path / "junk.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(WavError, match="not a RIFF"):
        read_wav(tmp_path / "junk.wav")
    with wave.open(str(tmp_path / "st.wav"), "wb") as w:
        w.setnchannels(2), w.setsampwidth(2), w.setframerate(8000), w.writeframes(b"\0" * 8)
    with pytest.raises(WavError, match="2 channels"):
        read_wav(tmp_path / "st.wav")
    with wave.open(str(tmp_path / "u8.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(1), w.setframerate(8000), w.writeframes(b"\x80" * 4)
    with pytest.raises(WavError, match="8-bit"):
        read_wav(tmp_path / "u8.wav")
