"""Rule verify_artifacts: list every artifact of the current config that changed on disk since its
stage recorded it; fail when there is one."""

import sys

from _common import begin

begin(snakemake)

from neurorecon.artifacts import changed_artifacts

checked, problems = changed_artifacts(snakemake.params.folders)
for row in problems:
    print(f"{row['problem']}: {row['path']} (recorded by {row['manifest']}: sha256 {row['recorded']}"
          + (f", now {row['actual']})" if row["actual"] else ")"), file=sys.stderr)
summary = f"{checked} artifacts checked in {len(snakemake.params.folders)} folders: {len(problems)} changed or missing"
print(summary, file=sys.stderr)
if problems:
    sys.exit(f"{summary}; rerun the stages that make them (delete their folders, or snakemake --forcerun <rule>)")
