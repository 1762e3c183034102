# Stage 5: training on the GPU when present (one training job at a time: resources gpu=1).


rule train_model:
    input:
        positive="results/{model}/features/positive_train.npy",
        positive_meta="results/{model}/features/positive_train.meta.npz",
        adversarial="results/{model}/features/adversarial_train.npy",
        adversarial_meta="results/{model}/features/adversarial_train.meta.npz",
        general="resources/features/general_train.npy",
        general_meta="resources/features/general_train.meta.npz",
        negative_stream="resources/features/stream_train.npy",
        stream="resources/features/stream_validation.npy",
        precomputed=when("acav100m", rules.download_acav100m.output.features),
        fp_validation=when(
            "validation_features", rules.download_validation_features.output.features
        ),
        personal=personal_train_features,
    output:
        checkpoint="results/{model}/{model}.pt",
        history="results/{model}/training_history.csv",
    log:
        "logs/train_model/{model}.log",
    benchmark:
        "results/benchmarks/train_model/{model}.tsv"
    conda:
        "../envs/train.yaml"
    threads: 2
    resources:
        gpu=1,
    params:
        phrase=config["target_phrase"],
        model=config["model"],
        train=config["train"],
        threshold=config["evaluation"]["threshold"],
        refractory_s=config["evaluation"]["refractory_seconds"],
        fp_target=config["evaluation"]["targets"]["false_accepts_per_hour"],
        seed=SEED,
    script:
        "../scripts/train_model.py"
