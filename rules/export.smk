# Stage 6: export to ONNX, the format openWakeWord's runtime loads.


rule export_onnx:
    input:
        checkpoint="results/{model}/{model}.pt",
    output:
        onnx="results/{model}/{model}.onnx",
    log:
        "logs/export_onnx/{model}.log",
    benchmark:
        "results/benchmarks/export_onnx/{model}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/export_onnx.py"
