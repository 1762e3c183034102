# Config validation (fills the schema's defaults) and the helpers that compute targets and shards.
import math
import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from wakeforge import catalog
from wakeforge.phrases import model_name
from wakeforge.settings import coerce_config_file

# Values inside a nested --config override arrive as strings ('train={"steps": 100}' gives '100').
coerce_config_file(config, os.path.join(workflow.basedir, "config", "schema.yaml"))
validate(config, schema="../config/schema.yaml")

for folder in config["background_dirs"]:
    if not os.path.isdir(folder):
        raise WorkflowError(f"config key background_dirs: {folder!r} is not a folder")

MODEL = model_name(config["target_phrase"])
# openWakeWord's own pretrained model for this phrase, if it ships one (rule compare_reference)
REFERENCE = (
    catalog.REFERENCE_MODELS.get(MODEL)
    if config["evaluation"]["compare_reference"]
    else None
)
TTS = config["tts"]
SEED = config["seed"]

# Phrase-specific clip sets (results/<model>/) and phrase-independent ones (resources/).
TTS_SETS = {
    "positive_train": config["n_samples"],
    "positive_test": config["n_samples_val"],
    "adversarial_train": config["n_samples"],
    "adversarial_test": config["n_samples_val"],
}
# The user's own recordings of the phrase (personal_recordings.folder): one clip set each for
# training and testing, imported instead of synthesised, then augmented like the others.
PERSONAL = config["personal_recordings"]
PERSONAL_SETS = ("personal_train", "personal_test") if PERSONAL["folder"] else ()
if PERSONAL["folder"] and not os.path.isdir(PERSONAL["folder"]):
    raise WorkflowError(
        f"config key personal_recordings.folder: {PERSONAL['folder']!r} is not a folder"
    )
MODEL_SETS = {**TTS_SETS, **{s: 1 for s in PERSONAL_SETS}}
STREAM_SENTENCE_SECONDS = 3.0
# general_train shards whose speech becomes babble backgrounds (5000 sentences at the default size),
# and general_test shards (held-out voices and sentences) for the held-out babble files
BABBLE_SHARDS = 10
HELDOUT_BABBLE_SHARDS = 2
SHARED_SETS = {
    "general_train": config["n_general_samples"],
    "general_test": config["n_general_samples_val"],
    # each stream reuses its sentences (in new blocks) beyond its speech hours
    "stream_train": math.ceil(
        min(config["negative_speech_hours"], config["negative_stream_hours"])
        * 3600
        / STREAM_SENTENCE_SECONDS
    ),
    "stream_validation": math.ceil(
        min(config["validation"]["speech_hours"], config["validation"]["stream_hours"])
        * 3600
        / STREAM_SENTENCE_SECONDS
    ),
}

# Test clip sets go on for evaluation.latency_s after the phrase (whole 80 ms frames): a clip counts
# as detected when any window ending by then reaches the threshold, as in a stream.
TEST_TAIL_FRAMES = round(config["evaluation"]["latency_s"] / 0.08)


def augmentation_for(wildcards):
    """The augmentation block for a phrase set. Training sets (personal recordings included) end
    their phrase anywhere from 0 to end_jitter_s + evaluation.latency_s before the window's end:
    every alignment at which a detection counts (a test clip's windows end 0..end_jitter_s after
    the phrase, then latency_s later), so the model learns to fire on all of them, not on the
    first few only. Test sets keep end_jitter_s (their tail frames add the latency)."""
    aug = without(config["augmentation"], "rounds", "onset_fraction")
    if wildcards.model_set.endswith("_train"):
        return {
            **aug,
            "end_jitter_s": aug["end_jitter_s"] + config["evaluation"]["latency_s"],
        }
    return aug


def without(aug, *keys):
    """The augmentation block without ``keys``. Each set's rule params carry only the keys that set
    uses, so changing one reruns only those sets: ``rounds`` travels as its own param (training
    sets only), ``onset_fraction`` applies to the training general negatives only."""
    return {k: v for k, v in aug.items() if k not in keys}


def general_augmentation_for(wildcards):
    """The augmentation block for a general negative set: training clips get onset_fraction of
    sentence onsets; the test set stays random crops, comparable across runs."""
    aug = without(config["augmentation"], "rounds")
    return (
        aug
        if wildcards.general_set.endswith("_train")
        else without(aug, "onset_fraction")
    )


def tail_frames(wildcards):
    """Frames after the phrase in a test set's clips (0 for training sets)."""
    return TEST_TAIL_FRAMES if wildcards.model_set.endswith("_test") else 0


wildcard_constraints:
    model="[a-z0-9_]+",
    shard=r"\d+",
    model_set="|".join(MODEL_SETS),
    tts_set="|".join(TTS_SETS),
    shared_set="|".join(SHARED_SETS),
    general_set="general_train|general_test",
    stream="train|validation",


def n_shards(n_clips):
    return max(1, math.ceil(n_clips / TTS["clips_per_shard"]))


def model_shards(pattern, set_name):
    """Per-shard files of a phrase-specific set (``pattern`` has {model}, {set}, {shard})."""

    def paths(wildcards):
        n = n_shards(MODEL_SETS[set_name])
        return [
            pattern.format(model=wildcards.model, set=set_name, shard=i)
            for i in range(n)
        ]

    return paths


def shared_shards(pattern, set_name):
    """Per-shard files of a phrase-independent set."""
    return [
        pattern.format(set=set_name, shard=i)
        for i in range(n_shards(SHARED_SETS[set_name]))
    ]


def set_size(wildcards):
    if hasattr(wildcards, "tts_set"):
        return TTS_SETS[wildcards.tts_set]
    if hasattr(wildcards, "model_set"):
        return MODEL_SETS[wildcards.model_set]
    return SHARED_SETS[wildcards.shared_set]


def shard_count(wildcards):
    return n_shards(set_size(wildcards))


STREAM_HOURS = {
    "train": config["negative_stream_hours"],
    "validation": config["validation"]["stream_hours"],
}


def is_heldout(wildcards):
    """Whether a job's clip set or stream is for evaluation only: anything not named *train
    (positive_test, general_test, stream_validation, stream "validation")."""
    keys = ("stream", "model_set", "tts_set", "general_set", "shared_set")
    name = next((wildcards[k] for k in keys if k in wildcards.keys()), "")
    return not name.endswith("train")


def augment_pool(wildcards):
    """Training sets draw rooms and backgrounds from the training pool; test sets from the held-out pool."""
    return "heldout" if is_heldout(wildcards) else "train"


# Full-data tier (wakeforge/catalog.py): which downloads are used, and the TTS engines they add.
DOWNLOADS = "resources/downloads"
FULL = config["assets"]["full"]
USE = {asset: catalog.enabled(config, asset) for asset in catalog.ASSETS}
VOICES = catalog.voice_specs(config) if USE["piper_voices"] else []
VOICE_FILES = [
    f"{DOWNLOADS}/piper/{v['name']}.onnx{ext}" for v in VOICES for ext in ("", ".json")
]
# TTS engines whose programs come from Debian's archive (rule fetch_tts_engine; the names of
# wakeforge.tts.DEBIAN_ENGINES): their manifests
DEBIAN_ENGINES = ("flite", "mbrola", "pico", "rhvoice")
# Debian packages of background audio (rule fetch_debian_audio): music and recorded speech
DEBIAN_AUDIO = ("music", "speech")


def debian_audio_manifest(collection):
    return f"resources/{collection}/{collection}.json"


def engine_manifest(name):
    return f"resources/{name}/{name}.json"


# the accented MBROLA voices of mbrola's train_voices (rule fetch_mbrola_accents): their manifest
MBROLA_ACCENTS = "resources/mbrola_accents/mbrola_accents.json"


def engine_spec(engine):
    """A tts.engines entry as a mapping; a Debian engine's names the manifest of its fetch rule
    (mbrola's with train_voices also that of its accented voices)."""
    spec = {"name": engine} if isinstance(engine, str) else dict(engine)
    if "train_voices" in spec and spec["name"] != "mbrola":
        raise WorkflowError(
            f"config key tts.engines: train_voices is for mbrola only, not {spec['name']}"
        )
    if spec["name"] in DEBIAN_ENGINES:
        spec["manifest"] = engine_manifest(spec["name"])
    if spec.get("train_voices"):
        spec["accents"] = MBROLA_ACCENTS
    return spec


def without_train_voices(tts):
    """The TTS params of the test sets: training-only voices left out, so adding them reruns
    only the training sets' synthesis."""
    engines = [
        {k: v for k, v in e.items() if k not in ("train_voices", "accents")}
        for e in tts["engines"]
    ]
    return {**tts, "engines": engines}


TTS_ENGINES = [engine_spec(e) for e in TTS["engines"]] + [
    {
        "name": "piper",
        "model": f"{DOWNLOADS}/piper/{v['name']}.onnx",
        "config": f"{DOWNLOADS}/piper/{v['name']}.onnx.json",
        **{k: v[k] for k in ("weight", "speakers") if k in v},
    }
    for v in VOICES
]
TTS_PARAMS = {**TTS, "engines": TTS_ENGINES}
TTS_TEST_PARAMS = without_train_voices(TTS_PARAMS)


MBROLA_TRAIN_VOICES = [v for e in TTS_ENGINES for v in e.get("train_voices", [])]


def tts_params(wildcards):
    """TTS params of a synthesis job: a held-out set's without training-only voices."""
    return TTS_TEST_PARAMS if is_heldout(wildcards) else TTS_PARAMS


def training_voice_files(wildcards):
    """The accented voices' manifest for a training set's synthesis, when train_voices names any."""
    return [MBROLA_ACCENTS] if MBROLA_TRAIN_VOICES and not is_heldout(wildcards) else []


VOICE_FILES += sorted({e["manifest"] for e in TTS_ENGINES if "manifest" in e})


def when(asset, path):
    """``path`` when the full-tier ``asset`` is used, else no input."""
    return [path] if USE[asset] else []


def personal_train_features(wildcards):
    """Features of the personal training recordings (with their metadata), or no input."""
    if not PERSONAL_SETS:
        return []
    base = f"results/{wildcards.model}/features/personal_train"
    return [f"{base}.npy", f"{base}.meta.npz"]
