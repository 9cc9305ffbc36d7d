"""Data-efficiency benchmark, leave one subject out: each subject in turn is held out of the
cross-subject decoder's training and decoded from a fraction of its training trials by per-subject
ridge (the baseline), the same architecture trained from scratch, and the pretrained model adapted.

Reads the preprocessed responses and stimulus embeddings of a finished run, so run the workflow
first (``snakemake --cores 2``, same config). Prints, per metric, the mean over held-out subjects
and repeats for each method and fraction, and each method's gain over ridge; writes the long table
to results/benchmarks/data_efficiency_loso.tsv.

    python benchmarks/data_efficiency.py [--configfile config/config.yaml] [--repeats 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from neurorecon.config import check_config_combinations, check_config_keys  # noqa: E402
from neurorecon.schema import load_schema, validate_config  # noqa: E402
from neurorecon.decode.shared import subject_data  # noqa: E402
from neurorecon.evaluate.data_efficiency import leave_one_subject_out, summarise  # noqa: E402
from neurorecon.evaluate.embedding import noise_free_test_responses  # noqa: E402
from neurorecon.layout import build_layout  # noqa: E402
from neurorecon.responses import Responses  # noqa: E402
from neurorecon.stimuli.embeddings import load_embeddings  # noqa: E402


def merged(base: dict, update: dict) -> dict:
    """``base`` updated by ``update`` recursively, as Snakemake merges a --configfile."""
    for key, value in update.items():
        base[key] = merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return base


def load_config(configfile: Path | None) -> dict:
    """config/config.yaml updated by ``configfile``, checked, defaults filled."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    if configfile:
        config = merged(config, yaml.safe_load(Path(configfile).read_text()))
    schema = REPO / "config" / "schema.yaml"
    check_config_keys(config, load_schema(schema))
    validate_config(config, load_schema(schema))
    check_config_combinations(config)
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", type=Path, help="the config the workflow ran with (default: config/config.yaml)")
    parser.add_argument("--repeats", type=int, help="random subsets per fraction (default: the config's)")
    parser.add_argument("--fractions", type=float, nargs="+", help="default: the config's")
    args = parser.parse_args()
    config = load_config(args.configfile)
    layout = build_layout(config)
    bench = config["benchmark"]["data_efficiency"]
    rois = config["decode"]["shared"]["rois"]
    embeddings_path = Path(layout.folders["stimuli"]) / "embeddings.npz"
    if not embeddings_path.is_file():
        sys.exit(f"{embeddings_path} not found: run the workflow with this config first (snakemake --cores 2)")
    embeddings = load_embeddings(embeddings_path)
    subjects = {}
    for subject in layout.subjects:
        folder = Path(layout.folders["preprocess"]) / f"sub-{subject}"
        if not (folder / "responses.npz").is_file():
            sys.exit(f"{folder / 'responses.npz'} not found: run the workflow with this config first")
        responses = Responses.load(folder / "responses.npz", folder / "trials.tsv")
        truth = Path(layout.folders["data"]) / "derivatives" / "groundtruth" / f"sub-{subject}" / f"sub-{subject}_groundtruth.npz"
        clean = noise_free_test_responses(responses, truth, rois) if truth.is_file() else None
        subjects[subject] = (subject_data(responses, embeddings, "train", rois),
                             subject_data(responses, embeddings, "test", rois), clean)
    started = time.perf_counter()
    table = leave_one_subject_out(subjects, config["decode"]["shared"], config["decode"]["adapt"],
                                  config["decode"]["ridge"]["alphas"], args.fractions or bench["fractions"],
                                  args.repeats or bench["repeats"])
    elapsed = time.perf_counter() - started
    out = REPO / "results" / "benchmarks" / "data_efficiency_loso.tsv"
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, sep="\t", index=False, float_format="%.4f")
    mean = summarise(table)
    for metric, rows in mean.groupby("metric", sort=False):
        wide = rows.pivot(index="method", columns="fraction", values="value")
        gain = (wide - wide.loc["ridge"]).drop(index="ridge")
        gain.index = [f"{m} - ridge" for m in gain.index]
        print(f"\n{metric} (chance {rows['chance'].mean():.3f}; held out in turn: {', '.join(subjects)})")
        print(pd.concat([wide, gain]).round(3).to_string())
    print(f"\n{len(table)} rows in {elapsed:.0f} s -> {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
