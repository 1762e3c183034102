# The user's own recordings of the phrase (personal_recordings.folder), imported as two clip sets:
# extra training positives and a separately reported test set. Augmentation, features and the
# rest follow the synthetic sets' rules.


rule import_recordings:
    output:
        train="results/{model}/clips/personal_train/0.npz",
        test="results/{model}/clips/personal_test/0.npz",
    log:
        "logs/import_recordings/{model}.log",
    conda:
        "../envs/augment.yaml"
    params:
        folder=PERSONAL["folder"],
        test_fraction=PERSONAL["test_fraction"],
        seed=SEED,
    script:
        "../scripts/import_recordings.py"
