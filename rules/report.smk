# Report: figures for `snakemake --report report.html` (also PNGs under results/<m>/).
#
# The runtime figure reads the benchmark files under results/benchmarks/ that exist when the
# job runs; they are not inputs (that would tie this rule to every job, itself included, and
# make it stale whenever any job reran). Its input metrics.json comes after every stage of
# the model, so their benchmark files are there by then.


rule plot_results:
    input:
        metrics="results/{model}/metrics.json",
        sidecar="results/{model}/{model}.json",
        history="results/{model}/training_history.csv",
        validation_det="results/{model}/validation_det.csv",
        test_det="results/{model}/test_det.csv",
        scores="results/{model}/test_scores.npz",
    output:
        det=report(
            "results/{model}/det_curve.png",
            caption="../report/det_curve.rst",
            category="Model quality",
            labels={"model": "{model}", "result": "DET curve"},
        ),
        histograms=report(
            "results/{model}/score_histograms.png",
            caption="../report/score_histograms.rst",
            category="Model quality",
            labels={"model": "{model}", "result": "score histograms"},
        ),
        training=report(
            "results/{model}/training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
            labels={"model": "{model}", "result": "training curves"},
        ),
        runtimes=report(
            "results/{model}/stage_runtimes.png",
            caption="../report/stage_runtimes.rst",
            category="Runtime",
            labels={"model": "{model}", "result": "runtime per stage"},
        ),
    log:
        "logs/plot_results/{model}.log",
    benchmark:
        "results/benchmarks/plot_results/{model}.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 1
    params:
        benchmarks="results/benchmarks",
        # rules with a {model} wildcard: their benchmark files are per phrase
        phrase_rules=lambda wildcards: sorted(
            r.name for r in workflow.rules if "model" in r.wildcard_names
        ),
    script:
        "../scripts/plot_results.py"
