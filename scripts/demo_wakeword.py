#!/usr/bin/env python3
"""Listen for your wake word: microphone (needs the optional sounddevice) or a recording.

    python scripts/demo_wakeword.py --model results/hey_saga/hey_saga.onnx            # microphone
    python scripts/demo_wakeword.py --model results/hey_saga/hey_saga.onnx --wav me.wav

Prints one line per detection with its time and score. The threshold is the calibrated one from
the model's sidecar JSON (results/<m>/<m>.json) unless --threshold is given; detections closer
than --refractory seconds count once. Unlike the other scripts this is a command, not a rule.
"""

from __future__ import annotations

import argparse
import sys

from wakeforge.detect import Detector, load_threshold, microphone_frames, wav_frames
from wakeforge.errors import WakeforgeError
from wakeforge.metrics import FRAME_SECONDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Detect a trained wake word in live or recorded audio.")
    parser.add_argument("--model", required=True, help="the trained model, results/<m>/<m>.onnx (or .tflite)")
    parser.add_argument("--wav", help="an audio file to scan instead of the microphone (any rate; wav/flac/ogg/mp3)")
    parser.add_argument("--threshold", type=float, help="score threshold (default: the sidecar's calibrated one)")
    parser.add_argument("--refractory", type=float, default=1.0, help="seconds after a detection during which it cannot fire again")
    parser.add_argument("--frontend", default="resources/frontend", help="folder with melspectrogram.onnx and embedding_model.onnx")
    parser.add_argument("--device", help="microphone (sounddevice name or index)")
    args = parser.parse_args(argv)
    try:
        threshold, source = (args.threshold, "--threshold") if args.threshold is not None else load_threshold(args.model)
        detector = Detector(args.model, threshold, args.refractory, args.frontend)
        frames = wav_frames(args.wav) if args.wav else microphone_frames(args.device)
        print(f"listening for {detector.name!r} (threshold {source}){'' if args.wav else '; Ctrl-C to stop'}", flush=True)
        count = 0
        for seconds, score in detector.run(frames):
            count += 1
            print(f"{seconds:9.2f} s  detected {detector.name} (score {score:.3f})", flush=True)
        print(f"{count} detection(s) in {detector.frames * FRAME_SECONDS:.1f} s of audio")
    except WakeforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
