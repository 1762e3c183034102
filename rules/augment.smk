# Stage 3: augmentation into fixed-length clips. Training sets use the training pools of impulse
# responses and background audio; test sets and the stream use the held-out pools.


rule augment_model_clips:
    input:
        clips="results/{model}/clips/{model_set}/{shard}.npz",
        clip_length="results/{model}/clip_length.json",
        rirs="resources/rirs/manifest.tsv",
        background="resources/background/manifest.tsv",
    output:
        augmented=temp("results/{model}/augmented/{model_set}/{shard}.npz"),
    log:
        "logs/augment_model_clips/{model}/{model_set}_{shard}.log",
    benchmark:
        "results/benchmarks/augment_model_clips/{model}/{model_set}_{shard}.tsv"
    conda:
        "../envs/augment.yaml"
    params:
        augmentation=augmentation_for,
        pool=augment_pool,
        rounds=lambda wc: (
            PERSONAL["rounds"]
            if wc.model_set.startswith("personal")
            else (
                config["augmentation"]["rounds"]
                if wc.model_set.endswith("_train")
                else 1
            )
        ),
        mode="end",
        tail_frames=tail_frames,
        seed=SEED,
    script:
        "../scripts/augment_clips.py"


rule augment_general_clips:
    input:
        clips="resources/clips/{general_set}/{shard}.npz",
        rirs="resources/rirs/manifest.tsv",
        background="resources/background/manifest.tsv",
    output:
        augmented=temp("resources/augmented/{general_set}/{shard}.npz"),
    log:
        "logs/augment_general_clips/{general_set}_{shard}.log",
    benchmark:
        "results/benchmarks/augment_general_clips/{general_set}_{shard}.tsv"
    conda:
        "../envs/augment.yaml"
    params:
        augmentation=general_augmentation_for,
        pool=augment_pool,
        rounds=1,
        mode="random",
        seed=SEED,
    script:
        "../scripts/augment_clips.py"


rule build_stream:
    input:
        clips=lambda wc: shared_shards(
            "resources/clips/{set}/{shard}.npz", f"stream_{wc.stream}"
        ),
        rirs="resources/rirs/manifest.tsv",
        background="resources/background/manifest.tsv",
    output:
        audio=temp("resources/stream/{stream}_audio.npy"),
        # start, end and text of each sentence: what was said where a model fires
        sentences="resources/stream/{stream}_sentences.tsv",
    log:
        "logs/build_stream/{stream}.log",
    benchmark:
        "results/benchmarks/build_stream/{stream}.tsv"
    conda:
        "../envs/augment.yaml"
    params:
        hours=lambda wc: STREAM_HOURS[wc.stream],
        # validation: its thirds (checkpoint selection, calibration, report) get disjoint sentences
        parts=lambda wc: 3 if wc.stream == "validation" else 1,
        pool=augment_pool,
        seed=SEED,
    script:
        "../scripts/build_stream.py"
