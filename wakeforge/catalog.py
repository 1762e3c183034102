"""The full-data tier's catalogue: where each dataset lives, at which revision, and how it is checked.

In: the validated config (``assets.tier`` and ``assets.full``). Out: for each asset, whether it is
enabled, its mirror URLs and the checksum a download must match.

Every URL is built from a *host* (``assets.full.hosts``: lists of base URLs, tried in order, so a
mirror such as hf-mirror.com or a local cache server can stand in for huggingface.co) and a path
pinned to a revision, so the bytes behind a URL cannot change under us:

- openWakeWord's frontend: GitHub release v0.5.1 (sha256 pinned; falls back to the pip wheel).
- ``davidscripka/openwakeword_features`` at commit 985bf1b: the ACAV100M negative features and the
  false-positive validation features (size and sha256 pinned).
- ``davidscripka/MIT_environmental_impulse_responses``, ``agkphysics/AudioSet``,
  ``mchl914/fma_xsmall`` and ``rhasspy/piper-voices``: many files, each checked against the
  checksum the host publishes in its file listing at the pinned revision (the LFS sha256 for large
  files, the git blob id for small ones); AudioSet's first balanced shard is also pinned here.

A single-file asset's ``urls`` and ``sha256`` in the config replace the built-in mirrors and pin.

Also pinned here (both tiers): openWakeWord's own pretrained models for the phrases it ships one
for (:data:`REFERENCE_MODELS`), the reference :mod:`wakeforge.compare` scores beside ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .download import Checksum
from .errors import WakeforgeError

# openWakeWord's own pretrained wake word models in the same wheel, by the model name (the phrase
# with underscores) of the phrase they detect: the reference a model trained here for that phrase
# is compared with (wakeforge.compare; fetched by wakeforge.assets.fetch_reference_model from the
# installed openwakeword package or the openwakeword==0.5.1 wheel)
REFERENCE_MODELS = {"alexa": "alexa_v0.1", "hey_jarvis": "hey_jarvis_v0.1", "hey_mycroft": "hey_mycroft_v0.1", "hey_rhasspy": "hey_rhasspy_v0.1"}
REFERENCE_SHA256 = {
    "alexa_v0.1.onnx": "6ff566a01d12670e8d9e3c59da32651db1575d17272a601b7f8a39283dfbae3e",
    "hey_jarvis_v0.1.onnx": "94a13cfe60075b132f6a472e7e462e8123ee70861bc3fb58434a73712ee0d2cb",
    "hey_mycroft_v0.1.onnx": "c2a311e8fa1338de89c31b3b46dc4dffd4af2f9a8d6ddead48893c2d301b1f18",
    "hey_rhasspy_v0.1.onnx": "5a9b3ed3be2910e35780e097905aa9f35a9c10038df47914cf2b3ec4d670f6ea",
}

ASSETS = ("frontend", "acav100m", "validation_features", "mit_rirs", "audioset", "fma", "piper_voices")


@dataclass(frozen=True)
class HfRepo:
    kind: str  # "datasets" or "models"
    name: str
    revision: str

    def file_path(self, path: str) -> str:
        prefix = "datasets/" if self.kind == "datasets" else ""
        return f"{prefix}{self.name}/resolve/{self.revision}/{path}"

    def tree_path(self, folder: str) -> str:
        return f"api/{self.kind}/{self.name}/tree/{self.revision}" + (f"/{folder.strip('/')}" if folder.strip("/") else "")


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: mirror URLs in order, and what the bytes must match."""

    urls: tuple[str, ...]
    checksum: Checksum | None
    size: int | None = None


FEATURES = HfRepo("datasets", "davidscripka/openwakeword_features", "985bf1b47e7f19c07741af82bfe32d5a9dc56096")
RIRS = HfRepo("datasets", "davidscripka/MIT_environmental_impulse_responses", "b824a1ef2821f112fda0b9cb26e4278c62b425bb")
AUDIOSET = HfRepo("datasets", "agkphysics/AudioSet", "0c609e8302cf139307f639c57652032af0a88041")
FMA = HfRepo("datasets", "mchl914/fma_xsmall", "main")
VOICES = HfRepo("models", "rhasspy/piper-voices", "v1.0.0")
FRONTEND_RELEASE = "dscripka/openWakeWord/releases/download/v0.5.1"

RIR_FOLDER = "16khz"
FMA_ARCHIVE = "fma_xs.zip"
ACAV_FILE = "openwakeword_features_ACAV100M_2000_hrs_16bit.npy"
VALIDATION_FILE = "validation_set_features.npy"

# (repo, path) -> (size in bytes, sha256) of files whose bytes are fixed by the pinned revision.
PINNED: dict[tuple[HfRepo, str], tuple[int, str]] = {
    (FEATURES, ACAV_FILE): (17_280_000_128, "721a66d0682c65a1b5c1da0aa109409cede1d20e28b15235c344b000cbb7654f"),
    (FEATURES, VALIDATION_FILE): (184_836_608, "a56a8a0f8e0efb91900acc6de4c0cdf4c564842e8475a7d49b36c039e17a690f"),
    (AUDIOSET, "data/bal_train/00.parquet"): (687_636_067, "b433e7bcf3bbdfb0488791fceae1eb7100711d13093d22e2253f15d2dcabc084"),
}

DEFAULT_HOSTS = {"huggingface": ["https://huggingface.co"], "github": ["https://github.com"]}


def join_url(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


def hosts(config: Mapping[str, Any], name: str) -> list[str]:
    """Base URLs of a host (``assets.full.hosts.<name>``), in the order to try them."""
    found = list(config["assets"]["full"]["hosts"].get(name) or DEFAULT_HOSTS[name])
    if not found:
        raise WakeforgeError(f"config key assets.full.hosts.{name} is empty; give at least one base URL")
    return found


def download_options(config: Mapping[str, Any]) -> dict:
    """Keyword arguments for :func:`wakeforge.download.download` from ``assets.full``."""
    full = config["assets"]["full"]
    return {"retries": int(full.get("retries", 4)), "timeout_s": float(full.get("timeout_s", 30))}


def mirror_hint(asset: str) -> str:
    return f"Mirrors for it go in config key assets.full.{asset}."


def asset_config(config: Mapping[str, Any], asset: str) -> dict:
    return dict(config["assets"]["full"].get(asset) or {})


def enabled(config: Mapping[str, Any], asset: str) -> bool:
    """An asset is used when its ``enabled`` key says so, else when ``assets.tier`` is ``full``."""
    flag = asset_config(config, asset).get("enabled")
    return (config["assets"]["tier"] == "full") if flag is None else bool(flag)


def hf_file(config: Mapping[str, Any], repo: HfRepo, path: str, checksum: Checksum | None = None, size: int | None = None) -> RemoteFile:
    """A file of a Hugging Face repo on every configured host; pinned checksums take precedence."""
    urls = tuple(join_url(base, repo.file_path(path)) for base in hosts(config, "huggingface"))
    if (repo, path) in PINNED:
        size, sha = PINNED[(repo, path)]
        checksum = Checksum("sha256", sha)
    return RemoteFile(urls, checksum, size)


def hf_tree_urls(config: Mapping[str, Any], repo: HfRepo, folder: str) -> list[str]:
    return [join_url(base, repo.tree_path(folder)) for base in hosts(config, "huggingface")]


def single_file(config: Mapping[str, Any], asset: str, repo: HfRepo, path: str) -> RemoteFile:
    """A single-file asset, with the config's ``urls``/``sha256`` overrides applied."""
    remote = hf_file(config, repo, path)
    over = asset_config(config, asset)
    urls = tuple(over.get("urls") or remote.urls)
    if over.get("sha256"):
        return RemoteFile(urls, Checksum("sha256", over["sha256"].lower()), None)
    return RemoteFile(urls, remote.checksum, remote.size)


def frontend_urls(config: Mapping[str, Any], name: str) -> list[str]:
    over = asset_config(config, "frontend").get("urls")
    if over:
        return [join_url(u, name) for u in over]
    return [join_url(base, f"{FRONTEND_RELEASE}/{name}") for base in hosts(config, "github")]


def voice_folder(voice: str) -> str:
    """Folder of a Piper voice in rhasspy/piper-voices: ``en_US-libritts_r-medium`` -> ``en/en_US/libritts_r/medium``."""
    parts = voice.split("-")
    if len(parts) != 3 or "_" not in parts[0] or not all(parts):
        raise WakeforgeError(
            f"config key assets.full.piper_voices.voices: {voice!r} is not a Piper voice name like en_US-libritts_r-medium"
        )
    locale, dataset, quality = parts
    return f"{locale.split('_')[0]}/{locale}/{dataset}/{quality}"


def voice_specs(config: Mapping[str, Any]) -> list[dict]:
    """``{name, weight, speakers}`` per configured Piper voice (a bare name means weight 1, all speakers)."""
    out = []
    for entry in asset_config(config, "piper_voices").get("voices", []):
        spec = {"name": entry} if isinstance(entry, str) else dict(entry)
        voice_folder(spec["name"])
        out.append(spec)
    return out


def parse_listing(entries: Sequence[Mapping[str, Any]], source: str) -> dict[str, tuple[int, Checksum]]:
    """A Hugging Face tree listing -> ``{path: (size, checksum)}`` of its files.

    Large files carry their LFS sha256 (``lfs.oid``); small ones only their git blob id (``oid``).
    """
    if not isinstance(entries, list):
        raise WakeforgeError(f"{source} is not a file listing (expected a JSON list)")
    files: dict[str, tuple[int, Checksum]] = {}
    for e in entries:
        try:
            if e.get("type") != "file":
                continue
            lfs = e.get("lfs")
            if lfs:
                files[e["path"]] = (int(lfs["size"]), Checksum("sha256", str(lfs["oid"])))
            else:
                files[e["path"]] = (int(e["size"]), Checksum("git-sha1", str(e["oid"])))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise WakeforgeError(f"{source}: malformed listing entry {e!r} ({exc})") from None
    return files
