from wakeforge.benchmarks import summarize

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def test_summarize_groups_jobs_by_rule(tmp_path):
    (tmp_path / "train_model").mkdir()
    (tmp_path / "train_model" / "a.tsv").write_text(HEADER + "10.0\t0:00:10\t500\t0\t0\t0\t0\t0\t0\t9.0\n")
    (tmp_path / "train_model" / "b.tsv").write_text(HEADER + "4.0\t0:00:04\t800\t0\t0\t0\t0\t0\t0\t3.0\n")
    (tmp_path / "fetch_frontend.tsv").write_text(HEADER + "1.0\t0:00:01\t100\t0\t0\t0\t0\t0\t0\t0.5\n")
    table = summarize(tmp_path)
    assert table.loc["train_model", "jobs"] == 2
    assert table.loc["train_model", "job_s_total"] == 14.0
    assert table.loc["train_model", "peak_rss_mb"] == 800
    assert table.loc["fetch_frontend", "job_s_max"] == 1.0
    assert list(table.index) == ["train_model", "fetch_frontend"]


def test_empty_folder_gives_empty_table(tmp_path):
    assert summarize(tmp_path).empty
