# Stage 0 (full-data tier only): openWakeWord's own datasets, downloaded with mirrors, resume and
# checksums (wakeforge.download), under resources/downloads/. Each rule runs only when its asset is
# enabled (assets.tier: full, or the asset's own `enabled`); see wakeforge/catalog.py for sources.


rule download_acav100m:
    output:
        features=ensure(
            f"{DOWNLOADS}/openwakeword_features/{catalog.ACAV_FILE}", non_empty=True
        ),
    log:
        "logs/download/acav100m.log",
    localrule: True
    conda:
        "../envs/assets.yaml"
    params:
        options=catalog.download_options(config),
        asset="acav100m",
        windows=True,
        remote=lambda wc: catalog.single_file(
            config, "acav100m", catalog.FEATURES, catalog.ACAV_FILE
        ),
    script:
        "../scripts/download_features.py"


rule download_validation_features:
    output:
        features=ensure(
            f"{DOWNLOADS}/openwakeword_features/{catalog.VALIDATION_FILE}",
            non_empty=True,
        ),
    log:
        "logs/download/validation_features.log",
    localrule: True
    conda:
        "../envs/assets.yaml"
    params:
        options=catalog.download_options(config),
        asset="validation_features",
        windows=False,
        remote=lambda wc: catalog.single_file(
            config, "validation_features", catalog.FEATURES, catalog.VALIDATION_FILE
        ),
    script:
        "../scripts/download_features.py"


rule download_mit_rirs:
    output:
        manifest=f"{DOWNLOADS}/mit_rirs/manifest.tsv",
    log:
        "logs/download/mit_rirs.log",
    localrule: True
    conda:
        "../envs/assets.yaml"
    params:
        config=config,
    script:
        "../scripts/download_mit_rirs.py"


rule download_audioset_shard:
    output:
        parquet=f"{DOWNLOADS}/audioset/data/{{shard_path}}.parquet",
    log:
        "logs/download/audioset/{shard_path}.log",
    localrule: True
    conda:
        "../envs/assets.yaml"
    params:
        options=catalog.download_options(config),
        remote=lambda wc: catalog.hf_file(
            config, catalog.AUDIOSET, f"data/{wc.shard_path}.parquet"
        ),
        listing=lambda wc: catalog.hf_tree_urls(
            config, catalog.AUDIOSET, os.path.dirname(f"data/{wc.shard_path}")
        ),
    script:
        "../scripts/download_audioset_shard.py"


rule decode_audioset:
    input:
        parquet=[
            f"{DOWNLOADS}/audioset/data/{s.removesuffix('.parquet')}.parquet"
            for s in FULL["audioset"]["shards"]
        ],
    output:
        manifest=f"{DOWNLOADS}/audioset/manifest.tsv",
    log:
        "logs/download/decode_audioset.log",
    conda:
        "../envs/assets.yaml"
    params:
        max_clips=FULL["audioset"]["max_clips"],
    script:
        "../scripts/decode_audioset.py"


rule download_fma:
    output:
        archive=f"{DOWNLOADS}/fma/{catalog.FMA_ARCHIVE}",
    log:
        "logs/download/fma.log",
    localrule: True
    conda:
        "../envs/assets.yaml"
    params:
        options=catalog.download_options(config),
        listing=lambda wc: catalog.hf_tree_urls(config, catalog.FMA, ""),
        urls=lambda wc: catalog.hf_file(config, catalog.FMA, catalog.FMA_ARCHIVE).urls,
    script:
        "../scripts/download_fma.py"


rule decode_fma:
    input:
        archive=rules.download_fma.output.archive,
    output:
        manifest=f"{DOWNLOADS}/fma/manifest.tsv",
    log:
        "logs/download/decode_fma.log",
    conda:
        "../envs/assets.yaml"
    params:
        max_clips=FULL["fma"]["max_clips"],
    script:
        "../scripts/decode_fma.py"


rule download_piper_voice:
    output:
        model=f"{DOWNLOADS}/piper/{{voice}}.onnx",
        config=f"{DOWNLOADS}/piper/{{voice}}.onnx.json",
    log:
        "logs/download/piper_{voice}.log",
    localrule: True
    conda:
        "../envs/tts.yaml"
    params:
        config=config,
    script:
        "../scripts/download_piper_voice.py"
