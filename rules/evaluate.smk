# Stage 7: threshold calibration on validation data, then evaluation of the exported model on
# held-out clips and the report third of the stream at that threshold.


rule calibrate_threshold:
    input:
        onnx="results/{model}/{model}.onnx",
        # validation data: held-out training source clips (the same split as train_model) and the
        # calibration third of each negative validation stream (selection used the first third)
        positive="results/{model}/features/positive_train.npy",
        positive_meta="results/{model}/features/positive_train.meta.npz",
        adversarial="results/{model}/features/adversarial_train.npy",
        adversarial_meta="results/{model}/features/adversarial_train.meta.npz",
        stream="resources/features/stream_validation.npy",
        fp_validation=when(
            "validation_features", rules.download_validation_features.output.features
        ),
        personal=personal_train_features,
    output:
        sidecar=report(
            "results/{model}/{model}.json",
            caption="../report/calibration.rst",
            category="Model quality",
            labels={"model": "{model}", "result": "threshold sidecar"},
        ),
        det="results/{model}/validation_det.csv",
    log:
        "logs/calibrate_threshold/{model}.log",
    benchmark:
        "results/benchmarks/calibrate_threshold/{model}.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 1
    params:
        phrase=config["target_phrase"],
        calibrate=config["evaluation"]["calibrate"],
        threshold=config["evaluation"]["threshold"],
        refractory_s=config["evaluation"]["refractory_seconds"],
        fp_target=config["evaluation"]["targets"]["false_accepts_per_hour"],
        val_fraction=config["train"]["val_fraction"],
        seed=SEED,
        # the whole validated config: its sha256 goes into the sidecar
        full_config=config,
    script:
        "../scripts/calibrate_threshold.py"


rule evaluate_model:
    input:
        onnx="results/{model}/{model}.onnx",
        checkpoint="results/{model}/{model}.pt",
        sidecar="results/{model}/{model}.json",
        positive="results/{model}/features/positive_test.npy",
        # which engine spoke each test positive: recall per voice source
        positive_meta="results/{model}/features/positive_test.meta.npz",
        positive_clips=model_shards(
            "results/{model}/clips/{set}/{shard}.npz", "positive_test"
        ),
        adversarial="results/{model}/features/adversarial_test.npy",
        general="resources/features/general_test.npy",
        general_meta="resources/features/general_test.meta.npz",
        stream="resources/features/stream_validation.npy",
        sentences="resources/stream/validation_sentences.tsv",
        fp_validation=when(
            "validation_features", rules.download_validation_features.output.features
        ),
        personal=lambda wc: (
            [f"results/{wc.model}/features/personal_test.npy"] if PERSONAL_SETS else []
        ),
    output:
        metrics=report(
            "results/{model}/metrics.json",
            caption="../report/metrics.rst",
            category="Model quality",
            labels={"model": "{model}", "result": "metrics"},
        ),
        scores="results/{model}/test_scores.npz",
        det="results/{model}/test_det.csv",
        false_accepts=report(
            "results/{model}/false_accepts.tsv",
            caption="../report/false_accepts.rst",
            category="Model quality",
            labels={"model": "{model}", "result": "false accepts"},
        ),
    log:
        "logs/evaluate_model/{model}.log",
    benchmark:
        "results/benchmarks/evaluate_model/{model}.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 1
    params:
        phrase=config["target_phrase"],
        threshold=config["evaluation"]["threshold"],
        refractory_s=config["evaluation"]["refractory_seconds"],
        targets=config["evaluation"]["targets"],
    script:
        "../scripts/evaluate_model.py"


rule compare_reference:
    input:
        onnx="results/{model}/{model}.onnx",
        sidecar="results/{model}/{model}.json",
        reference=lambda wc: f"resources/reference/{catalog.REFERENCE_MODELS[wc.model]}.onnx",
        positive="results/{model}/features/positive_test.npy",
        positive_meta="results/{model}/features/positive_test.meta.npz",
        positive_clips=model_shards(
            "results/{model}/clips/{set}/{shard}.npz", "positive_test"
        ),
        adversarial="results/{model}/features/adversarial_test.npy",
        stream="resources/features/stream_validation.npy",
    output:
        comparison=report(
            "results/{model}/reference_comparison.json",
            caption="../report/reference_comparison.rst",
            category="Model quality",
            labels={"model": "{model}", "result": "against openWakeWord's model"},
        ),
        det=report(
            "results/{model}/reference_det.png",
            caption="../report/reference_comparison.rst",
            category="Model quality",
            labels={"model": "{model}", "result": "DET against openWakeWord's model"},
        ),
    log:
        "logs/compare_reference/{model}.log",
    benchmark:
        "results/benchmarks/compare_reference/{model}.tsv"
    wildcard_constraints:
        model="|".join(catalog.REFERENCE_MODELS),
    conda:
        "../envs/evaluate.yaml"
    threads: 1
    params:
        phrase=config["target_phrase"],
        reference=lambda wc: catalog.REFERENCE_MODELS[wc.model],
        refractory_s=config["evaluation"]["refractory_seconds"],
        fp_target=config["evaluation"]["targets"]["false_accepts_per_hour"],
    script:
        "../scripts/compare_reference.py"
