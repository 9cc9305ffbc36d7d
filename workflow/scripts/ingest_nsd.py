"""Rule ingest_nsd: one NSD subject's single-trial betas -> the responses contract."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

from neurorecon.artifacts import derivatives_description, write_json_atomic, write_manifest
from neurorecon.io import nsd

cfg = snakemake.params.cfg
subject = int(snakemake.wildcards.subject)
options = {**cfg, "zscore": "session" if snakemake.params.preprocess["zscore"] == "run" else "none",
           "average_test_repeats": snakemake.params.preprocess["average_test_repeats"]}
responses, _ = nsd.load_nsd_subject(Path(cfg["root"]), subject, cfg["sessions"], options,
                                    progress=lambda s: progress(s, f"NSD sessions subj{subject:02d}"))
responses.save(Path(snakemake.output.responses), Path(snakemake.output.trials))
out_dir = Path(snakemake.output.manifest).parent
write_json_atomic(out_dir.parent / "dataset_description.json",
                  derivatives_description("neurorecon fMRI responses", "NSD single-trial betas"))
inputs = [nsd.roi_path(Path(cfg["root"]), subject, cfg["roi"], cfg["space"])] + [
    nsd.betas_path(Path(cfg["root"]), subject, s, cfg["betas"], cfg["space"]) for s in cfg["sessions"]]
write_manifest(out_dir, stage="preprocess", config=options, inputs=inputs,
               outputs=[snakemake.output.responses, snakemake.output.trials], started=started,
               code_version=snakemake.params.code, extra={"subject": snakemake.wildcards.subject})
