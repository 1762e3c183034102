# Stage 7: evaluation of the exported model on held-out clips and the held-out half of the stream.


rule evaluate_model:
    input:
        onnx="results/{model}/{model}.onnx",
        checkpoint="results/{model}/{model}.pt",
        positive="results/{model}/features/positive_test.npy",
        adversarial="results/{model}/features/adversarial_test.npy",
        general="resources/features/general_test.npy",
        general_meta="resources/features/general_test.meta.npz",
        stream="resources/features/stream_validation.npy",
        fp_validation=when(
            "validation_features", rules.download_validation_features.output.features
        ),
    output:
        metrics="results/{model}/metrics.json",
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
