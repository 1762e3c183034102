# Stage 2: texts and speech. Positives and adversarial negatives depend on the phrase
# (results/<model>/); general negative speech and the stream's speech do not (resources/).


rule make_phrases:
    output:
        **{s: f"results/{{model}}/text/{s}.txt" for s in TTS_SETS},
    log:
        "logs/make_phrases/{model}.log",
    benchmark:
        "results/benchmarks/make_phrases/{model}.tsv"
    conda:
        "../envs/tts.yaml"
    params:
        phrase=config["target_phrase"],
        counts=TTS_SETS,
        custom=config["custom_negative_phrases"],
        seed=SEED,
    script:
        "../scripts/make_phrases.py"


# one job per set (each has its own random stream), so changing one set's size leaves the others
rule write_general_texts:
    input:
        words="resources/text/words.txt",
    output:
        text="resources/text/{shared_set}.txt",
    log:
        "logs/write_general_texts/{shared_set}.log",
    benchmark:
        "results/benchmarks/write_general_texts/{shared_set}.tsv"
    conda:
        "../envs/tts.yaml"
    params:
        n_sentences=set_size,
        seed=SEED,
    script:
        "../scripts/write_general_texts.py"


rule synthesize_model_clips:
    input:
        text="results/{model}/text/{tts_set}.txt",
        voices=VOICE_FILES,
        accents=training_voice_files,
    output:
        clips="results/{model}/clips/{tts_set}/{shard}.npz",
    log:
        "logs/synthesize_model_clips/{model}/{tts_set}_{shard}.log",
    benchmark:
        "results/benchmarks/synthesize_model_clips/{model}/{tts_set}_{shard}.tsv"
    conda:
        "../envs/tts.yaml"
    params:
        tts=tts_params,
        n_shards=shard_count,
        heldout=is_heldout,
        seed=SEED,
    script:
        "../scripts/synthesize_clips.py"


rule synthesize_shared_clips:
    input:
        text="resources/text/{shared_set}.txt",
        voices=VOICE_FILES,
        accents=training_voice_files,
    output:
        clips="resources/clips/{shared_set}/{shard}.npz",
    log:
        "logs/synthesize_shared_clips/{shared_set}_{shard}.log",
    benchmark:
        "results/benchmarks/synthesize_shared_clips/{shared_set}_{shard}.tsv"
    conda:
        "../envs/tts.yaml"
    params:
        tts=tts_params,
        n_shards=shard_count,
        heldout=is_heldout,
        seed=SEED,
    script:
        "../scripts/synthesize_clips.py"


rule measure_clip_length:
    input:
        clips=model_shards("results/{model}/clips/{set}/{shard}.npz", "positive_train"),
    output:
        json="results/{model}/clip_length.json",
    log:
        "logs/measure_clip_length/{model}.log",
    conda:
        "../envs/augment.yaml"
    script:
        "../scripts/measure_clip_length.py"
