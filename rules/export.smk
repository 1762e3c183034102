# Stage 6: export to ONNX and TFLite (without TensorFlow: litert-torch), the formats openWakeWord's runtime loads.


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


rule export_tflite:
    input:
        checkpoint="results/{model}/{model}.pt",
        onnx="results/{model}/{model}.onnx",
    output:
        tflite="results/{model}/{model}.tflite",
    log:
        "logs/export_tflite/{model}.log",
    benchmark:
        "results/benchmarks/export_tflite/{model}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/export_tflite.py"
