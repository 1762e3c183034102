# wakeforge: train an openWakeWord-compatible wake word model from a phrase.
#   snakemake --cores 8 --resources gpu=1
#   snakemake --cores 8 --resources gpu=1 --config target_phrase="hey eris"
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/download.smk"
include: "rules/assets.smk"
include: "rules/tts.smk"
include: "rules/personal.smk"
include: "rules/augment.smk"
include: "rules/features.smk"
include: "rules/train.smk"
include: "rules/export.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        model_onnx=f"results/{MODEL}/{MODEL}.onnx",
        model_tflite=f"results/{MODEL}/{MODEL}.tflite",
        metrics=f"results/{MODEL}/metrics.json",
        sidecar=f"results/{MODEL}/{MODEL}.json",
        plots=expand(
            "results/{model}/{plot}.png",
            model=MODEL,
            plot=[
                "det_curve",
                "score_histograms",
                "training_curves",
                "stage_runtimes",
            ],
        ),
        reference=([f"results/{MODEL}/reference_comparison.json"] if REFERENCE else []),
