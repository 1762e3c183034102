"""Background audio: synthesised noise, hum, fans and babble, plus the user's folders, Debian music
and talk from Debian's recorded speech (fetched by fetch_debian_audio, else installed copies) and
(full tier) the decoded AudioSet and FMA clips."""
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from wakeforge import debian
from wakeforge.assets import (
    debian_music_dirs,
    debian_speech_files,
    import_user_background,
    read_manifest,
    synthesize_background,
    talk_background,
    write_manifest,
)
from wakeforge.audio import load_clip_sets
from wakeforge.cli import run_script
from wakeforge.seeding import rng_for

if TYPE_CHECKING:
    from snakemake.script import snakemake

MAX_IMPORTED_FILES = 2000
# Debian music is hours long: a slice of each track gives the variety without gigabytes of wav.
MUSIC_FILES = 80  # all 67 tracks of the three packages
MUSIC_SECONDS_PER_TRACK = 90
# Talk: as many files, as long, as the music (60 of 90 s from 4.6 h of recordings), so that talk
# is a third of the background files rather than most of them.
TALK_FILES_PER_SOURCE = 15
TALK_SECONDS = 90


def main(smk):
    log = logging.getLogger("build_background")
    dest = Path(smk.output.manifest).parent
    babble, _ = load_clip_sets(smk.input.babble)
    heldout_babble, _ = load_clip_sets(smk.input.heldout_babble)
    p = smk.params
    paths = synthesize_background(
        dest / "synthetic", rng_for(p.seed, "background"), p.n_files, p.seconds, babble, heldout_babble
    )
    if p.background_dirs:
        user, skipped = import_user_background(p.background_dirs, dest / "user", MAX_IMPORTED_FILES)
        log.info("imported %d background files from background_dirs (%d unreadable, skipped)", len(user), skipped)
        paths += user
    for music_manifest in smk.input.music:
        music_dirs = debian_music_dirs(debian.data_root(music_manifest))
        if music_dirs:
            music, skipped = import_user_background(
                [str(d) for d in music_dirs], dest / "music", MUSIC_FILES, kind="music", max_seconds=MUSIC_SECONDS_PER_TRACK
            )
            log.info("imported %d music files from Debian packages (%d skipped)", len(music), skipped)
            paths += music
    for speech_manifest in smk.input.speech:
        sources = debian_speech_files(debian.data_root(speech_manifest))
        talk, _ = talk_background(sources, dest / "talk", rng_for(p.seed, "talk"), TALK_FILES_PER_SOURCE, TALK_SECONDS)
        log.info("wrote %d talk files from recorded speech (%s)", len(talk), ", ".join(f"{k}: {len(v)} recordings" for k, v in sources.items()))
        paths += talk
    for manifest in smk.input.downloaded:
        entries = read_manifest(manifest)
        log.info("added %d downloaded background files (%.1f h) from %s", len(entries), sum(e.seconds for e in entries) / 3600, manifest)
        paths += [e.path for e in entries]
    write_manifest(paths, smk.output.manifest)


run_script(main, snakemake)
