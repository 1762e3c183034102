"""Glue for the Snakemake scripts: logging to the rule's log file and one-line user errors.

In: a script's ``main(snakemake)``. Out: its side effects, with log lines going to
``snakemake.log[0]`` (and stderr), and a :class:`WakeforgeError` turned into a single
``error: ...`` line and exit status 1 instead of a traceback.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Callable

from .errors import WakeforgeError


def setup_logging(log_path: str | None) -> None:
    """Send INFO logging to the rule's log file and to stderr."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s", handlers=handlers, force=True)


def run_script(main: Callable[[Any], None], smk: Any) -> None:
    """Run a script's ``main(snakemake)`` with logging set up and user errors reported in one line."""
    log_path = smk.log[0] if len(smk.log) else None
    setup_logging(log_path)
    try:
        main(smk)
    except WakeforgeError as exc:
        logging.getLogger("wakeforge").error("error: %s", exc)
        sys.exit(1)
