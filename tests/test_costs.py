"""The cost table: Snakemake benchmark files of the current config's jobs, summed per rule."""

import pandas as pd

from neurorecon.report.costs import job_benchmarks, rule_costs

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _write(root, relative, seconds, rss):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t{seconds / 2}\n")


def test_only_current_versions_are_collected_and_summed_per_rule(tmp_path):
    _write(tmp_path, "preprocess_fmri/preprocess/aaaa1111/sub-01.tsv", 4.0, 300)
    _write(tmp_path, "preprocess_fmri/preprocess/aaaa1111/sub-02.tsv", 6.0, 500)
    _write(tmp_path, "preprocess_fmri/preprocess/old00000/sub-01.tsv", 80.0, 900)  # an earlier config
    _write(tmp_path, "embed_stimuli/stimuli/bbbb2222/embed_stimuli.tsv", 12.0, 1200)
    _write(tmp_path, "benchmark_glm/benchmarks/glm.tsv", 30.0, 700)
    _write(tmp_path, "benchmark_data_efficiency/benchmarks/data_efficiency.tsv", 5.0, 100)
    jobs = job_benchmarks(tmp_path, ["aaaa1111", "bbbb2222"], ["benchmark_glm"])
    assert sorted(jobs["job"]) == ["benchmarks/glm", "preprocess/aaaa1111/sub-01", "preprocess/aaaa1111/sub-02",
                                   "stimuli/bbbb2222/embed_stimuli"]
    costs = rule_costs(jobs)
    assert costs["rule"].tolist() == ["benchmark_glm", "embed_stimuli", "preprocess_fmri"]  # costliest first
    row = costs.set_index("rule").loc["preprocess_fmri"]
    assert (row["jobs"], row["seconds_total"], row["seconds_max"], row["max_rss_mb"], row["cpu_seconds"]) == (2, 10.0, 6.0, 500, 5.0)


def test_no_benchmarks_give_an_empty_table(tmp_path):
    assert rule_costs(job_benchmarks(tmp_path, ["x"])).empty
    assert list(rule_costs(pd.DataFrame(columns=["rule", "job", "seconds", "max_rss_mb", "cpu_seconds"])).columns)[0] == "rule"
