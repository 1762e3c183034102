# Stage 1: phrase-independent assets from the package index (embedded tier): the openWakeWord
# frontend, impulse responses, background audio and the word list; the full tier's downloads
# (rules/download.smk) join the impulse responses and background audio when enabled. The flite,
# mbrola, pico and rhvoice TTS engines, music and recorded speech come from Debian's archive (pinned
# packages, unpacked without root).


rule fetch_frontend:
    output:
        melspec="resources/frontend/melspectrogram.onnx",
        embedding="resources/frontend/embedding_model.onnx",
    log:
        "logs/fetch_frontend.log",
    benchmark:
        "results/benchmarks/fetch_frontend.tsv"
    retries: 2
    localrule: True
    conda:
        "../envs/assets.yaml"
    params:
        options=catalog.download_options(config),
        # Full tier: openWakeWord's GitHub release first; the installed package or wheel otherwise.
        urls=lambda wc: (
            {
                name: catalog.frontend_urls(config, name)
                for name in ("melspectrogram.onnx", "embedding_model.onnx")
            }
            if USE["frontend"]
            else {}
        ),
    script:
        "../scripts/fetch_frontend.py"


rule fetch_reference_model:
    output:
        onnx="resources/reference/{reference}.onnx",
    log:
        "logs/fetch_reference_model/{reference}.log",
    wildcard_constraints:
        reference="|".join(catalog.REFERENCE_MODELS.values()),
    localrule: True
    conda:
        "../envs/assets.yaml"
    script:
        "../scripts/fetch_reference_model.py"


rule fetch_tts_engine:
    output:
        manifest=engine_manifest("{engine}"),
    log:
        "logs/fetch_{engine}.log",
    benchmark:
        "results/benchmarks/fetch_{engine}.tsv"
    wildcard_constraints:
        engine="|".join(DEBIAN_ENGINES),
    localrule: True
    conda:
        "../envs/tts.yaml"
    params:
        mirrors=config["assets"]["debian_mirrors"],
        options=catalog.download_options(config),
    script:
        "../scripts/fetch_tts_engine.py"


rule fetch_mbrola_accents:
    input:
        base=engine_manifest("mbrola"),
    output:
        manifest=MBROLA_ACCENTS,
    log:
        "logs/fetch_mbrola_accents.log",
    benchmark:
        "results/benchmarks/fetch_mbrola_accents.tsv"
    localrule: True
    conda:
        "../envs/tts.yaml"
    params:
        voices=MBROLA_TRAIN_VOICES,
        mirrors=config["assets"]["debian_mirrors"],
        options=catalog.download_options(config),
    script:
        "../scripts/fetch_mbrola_accents.py"


rule fetch_debian_audio:
    output:
        manifest=debian_audio_manifest("{collection}"),
    log:
        "logs/fetch_debian_{collection}.log",
    benchmark:
        "results/benchmarks/fetch_debian_{collection}.tsv"
    wildcard_constraints:
        collection="|".join(DEBIAN_AUDIO),
    localrule: True
    conda:
        "../envs/assets.yaml"
    params:
        mirrors=config["assets"]["debian_mirrors"],
        options=catalog.download_options(config),
    script:
        "../scripts/fetch_debian_audio.py"


rule build_impulse_responses:
    input:
        mit=when("mit_rirs", rules.download_mit_rirs.output.manifest),
    output:
        manifest="resources/rirs/manifest.tsv",
    log:
        "logs/build_impulse_responses.log",
    benchmark:
        "results/benchmarks/build_impulse_responses.tsv"
    conda:
        "../envs/assets.yaml"
    params:
        n_rooms=config["assets"]["n_simulated_rooms"],
        seed=SEED,
    script:
        "../scripts/build_impulse_responses.py"


rule build_word_list:
    output:
        words="resources/text/words.txt",
    log:
        "logs/build_word_list.log",
    benchmark:
        "results/benchmarks/build_word_list.tsv"
    conda:
        "../envs/tts.yaml"
    params:
        n_words=config["assets"]["n_words"],
    script:
        "../scripts/build_word_list.py"


rule build_background:
    input:
        # the first BABBLE_SHARDS shards only: the backgrounds (and the held-out audio mixed with
        # them) stay the same when n_general_samples grows
        babble=shared_shards("resources/clips/{set}/{shard}.npz", "general_train")[
            :BABBLE_SHARDS
        ],
        # the held-out pool's babble: test voices reading test sentences, never training speech
        heldout_babble=shared_shards(
            "resources/clips/{set}/{shard}.npz", "general_test"
        )[:HELDOUT_BABBLE_SHARDS],
        downloaded=when("audioset", rules.decode_audioset.output.manifest)
        + when("fma", rules.decode_fma.output.manifest),
        music=(
            [debian_audio_manifest("music")]
            if config["assets"]["use_debian_music"]
            else []
        ),
        speech=(
            [debian_audio_manifest("speech")]
            if config["assets"]["use_debian_speech"]
            else []
        ),
    output:
        manifest="resources/background/manifest.tsv",
    log:
        "logs/build_background.log",
    benchmark:
        "results/benchmarks/build_background.tsv"
    conda:
        "../envs/assets.yaml"
    params:
        n_files=config["assets"]["n_background_files"],
        seconds=config["assets"]["background_seconds"],
        background_dirs=config["background_dirs"],
        seed=SEED,
    script:
        "../scripts/build_background.py"
