"""wakeforge: train openWakeWord-compatible wake word models from synthetic speech.

The library holds the real logic; the Snakemake scripts under ``scripts/`` are thin adapters.
Everything inside works on 16 kHz mono audio (float32 in [-1, 1] or int16), said once here.
"""

__version__ = "0.1.0"
