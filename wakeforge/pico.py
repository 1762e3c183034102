"""SVOX Pico (Android's old offline TTS) through ctypes: ``libttspico.so.0`` and its language files
from Debian's archive (:mod:`wakeforge.debian`), no program needed.

In: the library's path, the folder of its language files, a voice (``en-US``: lh0; ``en-GB``:
kh0; both female) and a text, optionally with Pico's markup (``<speed level="80">``,
``<pitch level="120">``). Out: 16 kHz int16 samples. The engine is reset before each text, so
the same text gives the same samples.

Pico keeps one engine per "system" (a block of memory the caller hands it), so each voice gets its
own system. The C API (``picoapi.h``): ``pico_initialize``, ``pico_loadResource`` (text analysis
``<lang>_ta.bin`` and signal generation ``<lang>_<speaker>_sg.bin``), ``pico_createVoiceDefinition``,
``pico_addResourceToVoiceDefinition``, ``pico_newEngine``, then ``pico_putTextUtf8`` /
``pico_getData`` until the engine is idle. These forty lines stand here rather than a
wrapper package: the one on the package index (``py-picotts`` 0.1.2) runs the
``pico2wave`` program, whose language folder is compiled in as ``/usr/share/pico/lang``, which
an unpacked package without root cannot provide.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

from .errors import WakeforgeError

# voice -> (text analysis file, signal generation file)
VOICE_FILES = {"en-US": ("en-US_ta.bin", "en-US_lh0_sg.bin"), "en-GB": ("en-GB_ta.bin", "en-GB_kh0_sg.bin")}
SAMPLE_RATE = 16000
_MEMORY = 4_000_000  # bytes per system (one voice): the size pico2wave uses is 2.5 MB
_STEP_BUSY = 201
_RESET_FULL = 0
_RESOURCE_NAME = 200  # PICO_MAX_RESOURCE_NAME_SIZE is 32; generous


class PicoLibrary:
    """The Pico library with the given voices loaded, each in its own system."""

    def __init__(self, library: str | os.PathLike, lang_dir: str | os.PathLike, voices=tuple(VOICE_FILES)):
        try:
            self.lib = ctypes.CDLL(str(library))
        except OSError as exc:
            raise WakeforgeError(f"cannot load {library}: {exc}") from None
        self._memory: list = []  # kept alive: the library works inside these blocks
        self.engines: dict[str, ctypes.c_void_p] = {}
        for voice in voices:
            if voice not in VOICE_FILES:
                raise WakeforgeError(f"pico has no voice {voice!r} (known: {', '.join(VOICE_FILES)})")
            self.engines[voice] = self._engine(voice, Path(lang_dir))

    def _check(self, status: int, what: str) -> None:
        if status != 0:
            raise WakeforgeError(f"pico: {what} failed (status {status})")

    def _engine(self, voice: str, lang_dir: Path) -> ctypes.c_void_p:
        memory = ctypes.create_string_buffer(_MEMORY)
        self._memory.append(memory)
        system = ctypes.c_void_p()
        self._check(self.lib.pico_initialize(memory, _MEMORY, ctypes.byref(system)), "initialisation")
        name = voice.encode()
        self._check(self.lib.pico_createVoiceDefinition(system, name), f"voice {voice}")
        for file in VOICE_FILES[voice]:
            resource, resource_name = ctypes.c_void_p(), ctypes.create_string_buffer(_RESOURCE_NAME)
            self._check(self.lib.pico_loadResource(system, str(lang_dir / file).encode(), ctypes.byref(resource)), f"loading {lang_dir / file}")
            self._check(self.lib.pico_getResourceName(system, resource, resource_name), f"naming {file}")
            self._check(self.lib.pico_addResourceToVoiceDefinition(system, name, resource_name.value), f"adding {file}")
        engine = ctypes.c_void_p()
        self._check(self.lib.pico_newEngine(system, name, ctypes.byref(engine)), f"engine for {voice}")
        return engine

    def synthesize(self, text: str, voice: str) -> np.ndarray:
        """The samples of ``text`` (Pico markup allowed) spoken by ``voice``."""
        engine = self.engines[voice]
        # a full reset first: the signal generator's noise state otherwise carries over from the
        # previous text, and the same text would sound different each time
        self._check(self.lib.pico_resetEngine(engine, _RESET_FULL), "reset")
        data = text.encode() + b"\0"  # the terminating NUL makes the engine speak what it holds
        sent, received, kind = ctypes.c_int16(), ctypes.c_int16(), ctypes.c_int16()
        buffer = ctypes.create_string_buffer(4096)
        chunks, pos = [], 0
        while pos < len(data):
            part = data[pos : pos + 30000]  # the length is a 16-bit integer
            self._check(self.lib.pico_putTextUtf8(engine, part, len(part), ctypes.byref(sent)), "text input")
            pos += sent.value
            while True:
                status = self.lib.pico_getData(engine, buffer, len(buffer), ctypes.byref(received), ctypes.byref(kind))
                if received.value:
                    chunks.append(buffer.raw[: received.value])
                if status != _STEP_BUSY:
                    break
            if status < 0:
                self._check(status, "synthesis")
        return np.frombuffer(b"".join(chunks), dtype=np.int16).copy()
