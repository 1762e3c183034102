# Stage 4: openWakeWord embeddings, (N, 16, 96) per clip set (test sets: plus the frames up to
# evaluation.latency_s after the phrase) and one embedding per 80 ms of the stream.

FRONTEND = rules.fetch_frontend.output


rule model_features:
    input:
        augmented="results/{model}/augmented/{model_set}/{shard}.npz",
        melspec=FRONTEND.melspec,
        embedding=FRONTEND.embedding,
    output:
        features=temp("results/{model}/features/{model_set}/{shard}.npz"),
    log:
        "logs/model_features/{model}/{model_set}_{shard}.log",
    benchmark:
        "results/benchmarks/model_features/{model}/{model_set}_{shard}.tsv"
    conda:
        "../envs/features.yaml"
    threads: 1
    params:
        batch_size=config["features"]["batch_size"],
        device=config["features"]["device"],
        tail_frames=tail_frames,
    script:
        "../scripts/compute_features.py"


rule general_features:
    input:
        augmented="resources/augmented/{general_set}/{shard}.npz",
        melspec=FRONTEND.melspec,
        embedding=FRONTEND.embedding,
    output:
        features=temp("resources/features/{general_set}/{shard}.npz"),
    log:
        "logs/general_features/{general_set}_{shard}.log",
    benchmark:
        "results/benchmarks/general_features/{general_set}_{shard}.tsv"
    conda:
        "../envs/features.yaml"
    threads: 1
    params:
        batch_size=config["features"]["batch_size"],
        device=config["features"]["device"],
    script:
        "../scripts/compute_features.py"


rule merge_model_features:
    input:
        shards=lambda wc: model_shards(
            "results/{model}/features/{set}/{shard}.npz", wc.model_set
        )(wc),
    output:
        features="results/{model}/features/{model_set}.npy",
        meta="results/{model}/features/{model_set}.meta.npz",
    log:
        "logs/merge_model_features/{model}/{model_set}.log",
    conda:
        "../envs/features.yaml"
    script:
        "../scripts/merge_features.py"


rule merge_general_features:
    input:
        shards=lambda wc: shared_shards(
            "resources/features/{set}/{shard}.npz", wc.general_set
        ),
    output:
        features="resources/features/{general_set}.npy",
        meta="resources/features/{general_set}.meta.npz",
    log:
        "logs/merge_general_features/{general_set}.log",
    conda:
        "../envs/features.yaml"
    script:
        "../scripts/merge_features.py"


rule stream_features:
    input:
        audio="resources/stream/{stream}_audio.npy",
        melspec=FRONTEND.melspec,
        embedding=FRONTEND.embedding,
    output:
        features="resources/features/stream_{stream}.npy",
    log:
        "logs/stream_features/{stream}.log",
    benchmark:
        "results/benchmarks/stream_features/{stream}.tsv"
    conda:
        "../envs/features.yaml"
    threads: 2
    params:
        device=config["features"]["device"],
    script:
        "../scripts/compute_stream_features.py"
