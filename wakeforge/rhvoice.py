"""RHVoice through ctypes: ``libRHVoice.so.5`` and its English voices from Debian's archive
(:mod:`wakeforge.debian`), no program needed.

In: the library's path, the data folder (``usr/share/RHVoice``: ``languages/``, ``voices/``),
the configuration folder (``etc/RHVoice``), a voice (alan, bdl, clb, slt, evgeniy-eng, lyubov),
a speed factor and a pitch factor. Out: int16 samples at the voice's rate (24 kHz for these). The
voices are HTS models trained on recordings of people; synthesis has no randomness, so the same
text and settings give the same samples.

The C API (``RHVoice.h``): ``RHVoice_new_tts_engine`` with the folders and two callbacks (the
sample rate, then blocks of samples), ``RHVoice_new_message`` with the text and its
``RHVoice_synth_params`` (``relative_rate`` and ``relative_pitch`` multiply the voice's own),
``RHVoice_speak``. These lines stand here rather than a wrapper package: the one on the
package index (``rhvoice-wrapper-bin`` 0.5.0, a source package) clones RHVoice from GitHub and
compiles it with scons when installed, which a machine without internet cannot do. Not
thread-safe: one synthesis at a time per instance.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

from .errors import WakeforgeError

_SampleRate = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
_Samples = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_uint, ctypes.c_void_p)
_OPTIONAL_CALLBACKS = ("process_mark", "word_starts", "word_ends", "sentence_starts", "sentence_ends", "play_audio", "done")


class _Callbacks(ctypes.Structure):
    _fields_ = [("set_sample_rate", _SampleRate), ("play_speech", _Samples)] + [(n, ctypes.c_void_p) for n in _OPTIONAL_CALLBACKS]


class _InitParams(ctypes.Structure):
    _fields_ = [
        ("data_path", ctypes.c_char_p),
        ("config_path", ctypes.c_char_p),
        ("resource_paths", ctypes.POINTER(ctypes.c_char_p)),
        ("callbacks", _Callbacks),
        ("options", ctypes.c_uint),
    ]


class _SynthParams(ctypes.Structure):
    _fields_ = [
        ("voice_profile", ctypes.c_char_p),
        ("absolute_rate", ctypes.c_double),
        ("absolute_pitch", ctypes.c_double),
        ("absolute_volume", ctypes.c_double),
        ("relative_rate", ctypes.c_double),
        ("relative_pitch", ctypes.c_double),
        ("relative_volume", ctypes.c_double),
        ("punctuation_mode", ctypes.c_int),
        ("punctuation_list", ctypes.c_char_p),
        ("capitals_mode", ctypes.c_int),
        ("flags", ctypes.c_int),
    ]


class RHVoiceLibrary:
    """The RHVoice library with its data folders. ``preload``: shared libraries it needs that the
    dynamic linker would not find (``libRHVoice_core.so.7`` and ``libsonic.so.0`` from the same
    unpacked packages), loaded first, globally and in the order given: a library that links
    another must come after it (the core links libsonic)."""

    def __init__(self, library: str | os.PathLike, data_path: str | os.PathLike, config_path: str | os.PathLike, preload=()):
        self._preloaded = []
        for path in [*preload, library]:  # each may need only those before it
            try:
                self._preloaded.append(ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL))
            except OSError as exc:
                raise WakeforgeError(f"cannot load {path}: {exc}") from None
        self.lib = self._preloaded.pop()
        self.lib.RHVoice_new_tts_engine.restype = ctypes.c_void_p
        self.lib.RHVoice_new_tts_engine.argtypes = [ctypes.POINTER(_InitParams)]
        self.lib.RHVoice_new_message.restype = ctypes.c_void_p
        self.lib.RHVoice_new_message.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint, ctypes.c_int, ctypes.POINTER(_SynthParams), ctypes.c_void_p,
        ]  # fmt: skip
        self.lib.RHVoice_speak.argtypes = [ctypes.c_void_p]
        self.lib.RHVoice_delete_message.argtypes = [ctypes.c_void_p]
        self.lib.RHVoice_get_number_of_voices.argtypes = [ctypes.c_void_p]
        self.sample_rate = 0
        self._chunks: list[np.ndarray] = []
        # the callbacks must outlive the engine: kept on the instance
        self._on_rate = _SampleRate(self._set_sample_rate)
        self._on_samples = _Samples(self._play_speech)
        self._params = _InitParams(str(data_path).encode(), str(config_path).encode(), None, _Callbacks(self._on_rate, self._on_samples), 0)
        self.engine = self.lib.RHVoice_new_tts_engine(ctypes.byref(self._params))
        if not self.engine:
            raise WakeforgeError(f"RHVoice could not start with the data in {data_path}")
        if self.lib.RHVoice_get_number_of_voices(self.engine) == 0:
            raise WakeforgeError(f"RHVoice found no voice in {data_path}")

    def _set_sample_rate(self, sample_rate: int, _user_data) -> int:
        self.sample_rate = int(sample_rate)
        return 1

    def _play_speech(self, samples, count: int, _user_data) -> int:
        self._chunks.append(np.ctypeslib.as_array(samples, (count,)).copy())
        return 1

    def synthesize(self, text: str, voice: str, speed: float = 1.0, pitch: float = 1.0) -> tuple[np.ndarray, int]:
        """``(samples, sample_rate)`` of plain ``text`` spoken by ``voice``, ``speed`` times its
        own speed and ``pitch`` times its own pitch."""
        data = text.encode()
        params = _SynthParams(voice.encode(), 0.0, 0.0, 0.0, float(speed), float(pitch), 1.0, 0, None, 0, 0)
        self._chunks = []
        message = self.lib.RHVoice_new_message(self.engine, data, len(data), 0, ctypes.byref(params), None)
        if not message:
            raise WakeforgeError(f"RHVoice refused the text {text[:40]!r}")
        try:
            ok = self.lib.RHVoice_speak(message)
        finally:
            self.lib.RHVoice_delete_message(message)
        if not ok:
            raise WakeforgeError(f"RHVoice failed to speak {text[:40]!r} with voice {voice}")
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int16)
        self._chunks = []
        return audio.astype(np.int16, copy=False), self.sample_rate


def data_folders(root: str | os.PathLike) -> tuple[Path, Path]:
    """The data and configuration folders inside an unpacked package root."""
    root = Path(root)
    return root / "usr" / "share" / "RHVoice", root / "etc" / "RHVoice"
