"""Import the user's recordings of the phrase as a training and a test clip set (16 kHz int16)."""
from typing import TYPE_CHECKING

from wakeforge.audio import save_clips
from wakeforge.cli import run_script
from wakeforge.recordings import import_recordings

if TYPE_CHECKING:
    from snakemake.script import snakemake


def main(smk):
    sets = import_recordings(smk.params.folder, smk.params.test_fraction, smk.params.seed)
    for name, path in (("personal_train", smk.output.train), ("personal_test", smk.output.test)):
        clips, names = sets[name]
        save_clips(path, clips, names)


run_script(main, snakemake)
