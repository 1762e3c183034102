"""Programs and data from Debian's archive, fetched without root: pinned ``.deb`` files, unpacked.

In: the names of pinned packages (:data:`PACKAGES`), the mirrors to try and a destination folder.
Out: the packages' files under ``<dest>/root`` (as ``dpkg-deb -x`` would lay them out; the
``.deb`` files are deleted once unpacked) and a JSON manifest that says what is there, or why not.

Each package is pinned by pool path, size and sha256 (Debian 12 "bookworm"; programs for amd64
and arm64, data for ``all``), so every machine unpacks the same bytes; :func:`wakeforge.download.download` verifies them. A
``.deb`` is an ``ar`` archive holding ``data.tar.{xz,gz,zst}``; :func:`unpack_deb` reads the ar
container itself (a header of 60 bytes per member: a dozen lines, not worth a dependency) and
extracts the data tarball, keeping symlinks inside the destination (shared libraries need their
soname links) and refusing any member that leaves it, a link that points out of it, or a device
(:func:`wakeforge.archive.check_tar_member`, the checks of every archive we extract).

Used by the ``flite``, ``mbrola``, ``pico`` and ``rhvoice`` TTS engines (:class:`wakeforge.tts.FliteEngine`,
:class:`wakeforge.tts.MbrolaEngine`, :class:`wakeforge.tts.PicoEngine`,
:class:`wakeforge.tts.RhvoiceEngine`), for music backgrounds
(:func:`wakeforge.assets.debian_music_dirs`) and for talk backgrounds from recorded speech
(:func:`wakeforge.assets.talk_background`). What cannot be fetched (no network, another
architecture) is *skipped*, never fatal: :func:`fetch` returns a manifest with ``available:
false`` and the reason, and the workflow says what it skipped.
"""

from __future__ import annotations

import io
import json
import logging
import os
import platform
import shutil
import subprocess
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from .archive import check_tar_member
from .download import Checksum, download
from .errors import WakeforgeError

log = logging.getLogger(__name__)

DEFAULT_MIRRORS = ("https://deb.debian.org/debian",)
_AR_MAGIC = b"!<arch>\n"
_AR_HEADER = 60


@dataclass(frozen=True)
class DebFile:
    pool_path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class DebPackage:
    name: str
    version: str
    files: Mapping[str, DebFile]  # Debian architecture -> file


def _flite_file(package: str, arch: str, size: int, sha256: str) -> DebFile:
    return DebFile(f"pool/main/f/flite/{package}_2.2-5_{arch}.deb", size, sha256)


def _data_package(name: str, version: str, pool_dir: str, size: int, sha256: str) -> DebPackage:
    """A package of data for every architecture, at ``pool/<pool_dir>/<name>_<version>_all.deb``
    (the version without its epoch, as Debian names the file)."""
    return DebPackage(name, version, {"all": DebFile(f"pool/{pool_dir}/{name}_{version.split(':')[-1]}_all.deb", size, sha256)})


def _lib_package(name: str, version: str, pool_dir: str, files: Mapping[str, tuple[int, str]]) -> DebPackage:
    """A package built per architecture, ``files`` giving each one's (size, sha256), at
    ``pool/<pool_dir>/<name>_<version>_<arch>.deb``."""
    return DebPackage(name, version, {arch: DebFile(f"pool/{pool_dir}/{name}_{version}_{arch}.deb", size, sha256) for arch, (size, sha256) in files.items()})


_ESPEAK_V = "1.51+dfsg-10+deb12u2"


def _espeak_file(package: str, arch: str, size: int, sha256: str) -> DebFile:
    return DebFile(f"pool/main/e/espeak-ng/{package}_{_ESPEAK_V}_{arch}.deb", size, sha256)


_PICO_V = "1.0+git20130326-13"


def _pico_file(package: str, arch: str, size: int, sha256: str) -> DebFile:
    return DebFile(f"pool/non-free/s/svox/{package}_{_PICO_V}_{arch}.deb", size, sha256)


_RHVOICE_V = "1.8.0+dfsg-3"


def _rhvoice_file(package: str, arch: str, size: int, sha256: str) -> DebFile:
    return DebFile(f"pool/non-free/r/rhvoice/{package}_{_RHVOICE_V}_{arch}.deb", size, sha256)


# speed changes for espeak-ng and RHVoice
_LIBSONIC = _lib_package("libsonic0", "0.2.0-12", "main/s/sonic", {
    "amd64": (11_024, "9d60de6918ace0b10e3e4e95421befd08aaf03b5b2a3d71ceb799e0cf259916f"),
    "arm64": (10_360, "15987e29ab068f204178067df837a5b62025bc8927f308f6ae1bf27242473353"),
})  # fmt: skip

# ALSA's library: libflite1 and libpcaudio0 link it (installed on most desktops, not in containers)
_LIBASOUND = _lib_package("libasound2", "1.2.8-1+b1", "main/a/alsa-lib", {
    "amd64": (361_788, "44c77b076a7b11ae99712439022d822245b1994c435da564ebd320bb676faf4c"),
    "arm64": (327_044, "9fa889400fcee4b92c8f4a2fafbb7f2cd33444d9ec1665a71002ab67c06114bb"),
})  # fmt: skip

# PulseAudio's client library and what it links (sound files, codecs): libpcaudio0, which
# espeak-ng links for playback we never use, cannot load without them
_LIBPULSE = (
    _lib_package("libpulse0", "16.1+dfsg1-2+b1", "main/p/pulseaudio", {
        "amd64": (273_952, "7b2c5403cb726312219aad678becc6d6adcee1d8694fdffce0b6ec15ae010831"),
        "arm64": (230_964, "26f17e3457c5fce0104a6b2f0efb75a3256b24b32ca7cfda6266373758a930cb"),
    }),
    _lib_package("libasyncns0", "0.8-6+b3", "main/liba/libasyncns", {
        "amd64": (12_920, "cadaff99f4178b1f580331045621b363abaaefc994e78eecba1857774a3cead2"),
        "arm64": (12_456, "30ec77ed3695fc09863427bf30e27318b74909089144ac24db17c3ab1f184a62"),
    }),
    _lib_package("libsndfile1", "1.2.0-1+deb12u1", "main/libs/libsndfile", {
        "amd64": (196_540, "02dc3f08fe8476e82e005f412e3b7289ff641180f33a9be8073f4bde61c85e8e"),
        "arm64": (183_460, "9113167979c64bae0a73d2ee0740e662b25bb45b2f76e4745ea27db9f43f7b24"),
    }),
    _lib_package("libflac12", "1.4.2+ds-2", "main/f/flac", {
        "amd64": (198_124, "4d8431c274eef13ec9ee2c0bf988c34b4342367dec053b7f69a432525be5b1fe"),
        "arm64": (161_192, "338f78e2a140ed4ffca36d4240a7fc6f7867999bea000762a0c1b3924245a868"),
    }),
    _lib_package("libmp3lame0", "3.100-6", "main/l/lame", {
        "amd64": (364_932, "b1292c749172e7623547ecf684da57d3ec6ca22109f08b11bbb9e6be6e6beb95"),
        "arm64": (357_228, "4259ab5810ec52b03344e8c8fbcad330561ad6758f35f07233af3224d2824547"),
    }),
    _lib_package("libmpg123-0", "1.31.2-1+deb12u1", "main/m/mpg123", {
        "amd64": (146_980, "a10ad0d59995b859797a5f20d2833672051d0b2c7dab4c71f2e79258b2e3f631"),
        "arm64": (140_704, "a4348cc2939baabb498158c94229941d09fc42070af765dc45ef9b26eab727d2"),
    }),
    _lib_package("libogg0", "1.3.5-3", "main/libo/libogg", {
        "amd64": (23_412, "f67acb0477aed0354f411172e37af338f3ac6bd4f3766134a2cf5539884b5a28"),
        "arm64": (23_040, "1a3e6c2a934a4099dcd982785d1563212fc6ad20f021a6f06aa0d6e6582416d3"),
    }),
    _lib_package("libopus0", "1.3.1-3", "main/o/opus", {
        "amd64": (195_192, "c172e212f9039e741916aa8e12f3670d1e049dc0c16685325641288c2d83faa7"),
        "arm64": (175_924, "a7efb06da15cc7f1ffff62bfdd77ba43f2a2065b8b59185ad1d14031c5a9e354"),
    }),
    _lib_package("libvorbis0a", "1.3.7-1", "main/libv/libvorbis", {
        "amd64": (93_028, "01c14f9d1109650077a4c5c337c285476a6932d4d448f5a190c2b845724dbf21"),
        "arm64": (86_196, "2f902ae456bcada7b0d494d7bd7c994feb81c4158209d8a12c0b2d9e255edda7"),
    }),
    _lib_package("libvorbisenc2", "1.3.7-1", "main/libv/libvorbis", {
        "amd64": (80_568, "75dd4d6f904c7db82f5112e60d8efea9e81dfedf94e970c5da7af2b3d81643c0"),
        "arm64": (80_416, "f1089e220c81e267caec859bf2e440bb78ed9f318bbb51cfd6c85d35bf80144b"),
    }),
)  # fmt: skip


# flite 2.2 (CMU): the program and its voices kal, kal16, awb, rms, slt
PACKAGES: dict[str, tuple[DebPackage, ...]] = {
    "flite": (
        DebPackage("flite", "2.2-5", {
            "amd64": _flite_file("flite", "amd64", 252_784, "f4ce03470bf9974c2cb9cacd981e6be29339ef4c97cf994dd6fa3f90e6544db9"),
            "arm64": _flite_file("flite", "arm64", 252_272, "f5114e5cb90bc1f9705b1810eb0c9865ead13ad727feaa3df47d167b68cd11f3"),
        }),
        DebPackage("libflite1", "2.2-5", {
            "amd64": _flite_file("libflite1", "amd64", 12_823_776, "bfa8c591f1b47730b30b372ec38e02918a1c9795eada67684e1746390ad2f061"),
            "arm64": _flite_file("libflite1", "arm64", 12_814_836, "a32d8cfe4eda5e98dc4332ffb2520d3fb65565265bb869eb101f6b8b21f0115d"),
        }),
        _LIBASOUND,
    ),
    # espeak-ng 1.51 driving MBROLA diphone voices recorded from people: us1 (female), us2, us3
    # (male, US) and en1 (male, British); the voices are non-free (non-commercial use only)
    "mbrola": (
        DebPackage("espeak-ng", _ESPEAK_V, {
            "amd64": _espeak_file("espeak-ng", "amd64", 352_900, "a11396a690f85f55e6e6b2965505237ddf3dc95c51936aa61de936f1ccf8f4d0"),
            "arm64": _espeak_file("espeak-ng", "arm64", 340_468, "a2d8d5677f4a0d54d76705f16abc8b4133e45001ab39a37b496812f684ef31ca"),
        }),
        DebPackage("libespeak-ng1", _ESPEAK_V, {
            "amd64": _espeak_file("libespeak-ng1", "amd64", 200_132, "2b127a95b50d92cbd7a615968d2ac1566e1cbc87e27bcda0c2894afb2407c6d2"),
            "arm64": _espeak_file("libespeak-ng1", "arm64", 185_712, "5f3d28e7b025c79bda18f5de2394a2722d611b1e3c45f0b52de51337789150a6"),
        }),
        DebPackage("espeak-ng-data", _ESPEAK_V, {
            "amd64": _espeak_file("espeak-ng-data", "amd64", 4_255_896, "573f5661c6a5adcf949018baad158c4c773bf5579390ee5235a890f1cd694106"),
            "arm64": _espeak_file("espeak-ng-data", "arm64", 4_256_176, "d0312b604c496d2418a15145cbe225dc34fcc8cc075bb737ed0fc65e0f88ea35"),
        }),
        _lib_package("libpcaudio0", "1.2-2", "main/p/pcaudiolib", {
            "amd64": (8_800, "5309759e4d129c7d9a601240cc6e62820ecfa86a1a98e207992ffa6a572dbcd2"),
            "arm64": (8_584, "e729be424b80a6e335de5cad84515b735e9d4c83329a109e08246e6a572a3fd1"),
        }),
        _LIBSONIC,
        _LIBASOUND,
        *_LIBPULSE,
        _lib_package("mbrola", "3.3+dfsg-9", "contrib/m/mbrola", {
            "amd64": (165_736, "d94ea5bbb8b201935e8a40d758f1a224030d13a1ba669cc75293823933554c7f"),
            "arm64": (162_516, "3ed607e24e4eead3efe5066862a207373e28f51f9d0eeb0f8ed9e6dab57315fc"),
        }),
        _data_package("mbrola-us1", "0.3+repack2-5", "non-free/m/mbrola-us1", 6_042_520, "b3284caecfc47023bca46550c5f7cde2f4e8cb4ac3b60840ff8784914c7c85fd"),
        _data_package("mbrola-us2", "0.1+repack2-5", "non-free/m/mbrola-us2", 5_900_796, "ea95d89157e420b119f078853ddf27383b4cb4c607581c64b0f9079d5ee3f5dc"),
        _data_package("mbrola-us3", "0.1+repack2-4", "non-free/m/mbrola-us3", 5_476_324, "f8a4e75acc914a58fb7c85ffc3bbea48f0dc2c13704fadd054101020e973c1c2"),
        _data_package("mbrola-en1", "19980910+repack2-5", "non-free/m/mbrola-en1", 5_126_048, "1a94a61d15f1e6748563d2f15d12614b71df7c7e25370f433320e011fd1f5f63"),
    ),
    # SVOX Pico: the library and its two English voices (en-US, en-GB; both female; non-free:
    # no source for the voice data). Driven through ctypes (wakeforge.pico), no program.
    "pico": (
        DebPackage("libttspico0", _PICO_V, {
            "amd64": _pico_file("libttspico0", "amd64", 141_348, "fc9e4dbc664a7756ae73e83633d9987e6b0f2fd5248f04def8beb8de6df2cd02"),
            "arm64": _pico_file("libttspico0", "arm64", 133_096, "e64dd694f0d4aaa765672464dfe27ef4aa07e9c413c816ce79d7bd7b099e9f84"),
        }),
        DebPackage("libttspico-data", _PICO_V, {
            "all": _pico_file("libttspico-data", "all", 4_155_536, "25c9904cef2471302634c03deff3ca96b588e22ea94929dda72d940584a3b84a"),
        }),
    ),
    # RHVoice 1.8: its library and English voices (HTS voices trained on recordings of people:
    # alan, bdl, clb, slt from CMU ARCTIC, evgeniy-eng and lyubov; non-free: trained networks
    # without their training scripts). Driven through ctypes (wakeforge.rhvoice), no program.
    "rhvoice": (
        DebPackage("librhvoice-core7", _RHVOICE_V, {
            "amd64": _rhvoice_file("librhvoice-core7", "amd64", 511_400, "7b321d21caf899c78e579593f105fd49995f4d0c948c0523b2b4baa3291375f5"),
            "arm64": _rhvoice_file("librhvoice-core7", "arm64", 459_032, "724a3486164bcf7db7020b56f4571c76fc374fe20e65dae6eeb6f0d8d30edf67"),
        }),
        DebPackage("librhvoice5", _RHVOICE_V, {
            "amd64": _rhvoice_file("librhvoice5", "amd64", 91_844, "7a12f124a48941ec0e94aeaa60da44a27c164a31d5a6bb884875e533a6d15128"),
            "arm64": _rhvoice_file("librhvoice5", "arm64", 86_124, "a7260d863dd8816bb113f2333daa65ac8a37a34abc91a7cf415a06e78a979a90"),
        }),
        DebPackage("rhvoice-english", _RHVOICE_V, {
            "all": _rhvoice_file("rhvoice-english", "all", 34_095_160, "7ea5227bcfc54b814086f53225ff47052b444d4554e8c4e752c9e6b29edf89a5"),
        }),
        _LIBSONIC,
    ),
    # music for backgrounds (about 6 hours of ogg; the paths are in wakeforge.assets.DEBIAN_MUSIC)
    "music": (
        _data_package("wesnoth-1.16-music", "1:1.16.9-1", "main/w/wesnoth-1.16", 153_244_368, "f9bc3cde92b4ab30db5d7b85f89b4bcc3d788dd92602956d0347250850bf59bb"),
        _data_package("planetblupi-music-ogg", "1.14.2-3", "main/p/planetblupi", 60_112_692, "7d89a6d00b43cdb601e35256ab1a62814d203b5922cfed6a0e73e98486e82fa6"),
        _data_package("singularity-music", "007-2", "main/s/singularity-music", 51_636_048, "139ba1e408eeb0a72f1fff3760ca46558b9f81bed97dc8c0efa108c4007f4845"),
    ),
    # recorded human speech for background talk (about 4.6 hours; wakeforge.assets.DEBIAN_SPEECH)
    "speech": (
        _data_package("asterisk-core-sounds-en-wav", "1.6.1-1", "main/a/asterisk-core-sounds", 18_272_864, "2be3ea287d83299d143815fa804f11179a75b7affd4a758b98b55f5afc18a35d"),
        _data_package("fillets-ng-data-cs", "1.0.1-1.1", "main/f/fillets-ng-data", 39_042_172, "3ecef99b9456f1c80c9625c6f2418642b52d58e7167a46bad7a412db17991b14"),
        _data_package("fillets-ng-data-nl", "1.0.1-1.1", "main/f/fillets-ng-data", 32_593_580, "afb4443fda9ab507dee578b75be857d121718a1cd6017a474f30e0eb13dc9d10"),
        _data_package("klettres-data", "4:22.12.3-1", "main/k/klettres", 39_529_084, "1186d257a19e84230856baea0b0b1ded8be9195080fcdb2588970b5cd937f5a8"),
    ),
}  # fmt: skip

# MBROLA voices of other languages that espeak-ng 1.51 also reads English with (its voices
# mb-<voice>-en: English phonemes in that speaker's diphones, an accent), fetched beside the
# "mbrola" packages (tts.fetch_mbrola_accents) only when config names them (tts.engines: mbrola's
# train_voices); non-free
MBROLA_ACCENT_PACKAGES: dict[str, DebPackage] = {
    "af1": _data_package("mbrola-af1", "0.0.20040426+repack2-5", "non-free/m/mbrola-af1", 5_773_396, "6f5cc0d237a7fe476c07b5eeb38fd2759e3ef7baf8fb39347c3f0a0c929787b3"),  # Afrikaans, male
    "de1": _data_package("mbrola-de1", "2.050+repack2-4", "non-free/m/mbrola-de1", 8_952_792, "f56dea7c863d6e085b075babc1b899e30247c1aba51d03c71cb01fa2a48f3425"),  # German, female
    "de2": _data_package("mbrola-de2", "0.0.19990106+repack2-4", "non-free/m/mbrola-de2", 8_462_036, "d229fd4d1d9cac89a838c0b1761c615bd3bc8d46a7d9709a69e68f35f3ede0fe"),  # German, male
    "de3": _data_package("mbrola-de3", "1.0+repack2-4", "non-free/m/mbrola-de3", 9_656_560, "d63da9cbb76807ff8c6c99d7fb1297e9518d04f14b3ded297d8c3d1e5c34f2b5"),  # German, female
    "de4": _data_package("mbrola-de4", "0.0.20020812+repack2-4", "non-free/m/mbrola-de4", 17_394_164, "02d541463cf5c86463a6a5fdfdbd93ffbe1553b122b360f824e44ca19851921a"),  # German, male
    "de5": _data_package("mbrola-de5", "1.0+repack2-4", "non-free/m/mbrola-de5", 12_024_540, "9cfb2737ee7b070ac7768daa3f5cd9191adba403fdaa564cd03ed01d3075d80d"),  # German, female
    "fr1": _data_package("mbrola-fr1", "2.050+repack2-4", "non-free/m/mbrola-fr1", 4_394_940, "3b3fc10f27c2b202b188492f17d1929a2a3dc9ddecbcb08120610bc68e352202"),  # French, male
    "fr4": _data_package("mbrola-fr4", "0.0.19990521+repack2-5", "non-free/m/mbrola-fr4", 5_314_464, "3c19935aa7a6c897c7c033a0c964344b64ff3076b431d2544706a3d4574e1a0f"),  # French, female
    "gr2": _data_package("mbrola-gr2", "0.0.20010521+repack2-5", "non-free/m/mbrola-gr2", 5_443_936, "e6f167f3d34994aaf4472a1c265d1a174d11ed353aa60dc9717943c42b236db7"),  # Greek, male
    "hu1": _data_package("mbrola-hu1", "1.002+repack2-5", "non-free/m/mbrola-hu1", 6_386_544, "f37637259a2309cc1fea769b39c4cc6c40c3427bf5680c4a8ad042c4283b6c28"),  # Hungarian, male
    "nl2": _data_package("mbrola-nl2", "0.5+repack2-5", "non-free/m/mbrola-nl2", 11_904_396, "4b3dbbcca234b93de3ac20e1b7d0e2eee4446764d527bd7a7dcaea8c715cc5e0"),  # Dutch, male
    "pl1": _data_package("mbrola-pl1", "0.1+repack2-5", "non-free/m/mbrola-pl1", 3_555_600, "1bb4f93ef7197c6ab3a4880530f63a71d8c1afadb425a91b045728aa80143d9b"),  # Polish, female
    "ro1": _data_package("mbrola-ro1", "1.00+repack2-5", "non-free/m/mbrola-ro1", 2_842_448, "57c503b8b8c3f091ce5e62a9399278ae1795cd89d29489906c9df00d04dac05e"),  # Romanian, male
    "sw1": _data_package("mbrola-sw1", "1.00+repack2-5", "non-free/m/mbrola-sw1", 8_353_020, "872ac61d97272e4809e154e17f25a91dcb8eddbb3eb9bd510e4fe4edf89da5ad"),  # Swedish, male
    "sw2": _data_package("mbrola-sw2", "1.0+repack2-5", "non-free/m/mbrola-sw2", 4_954_148, "6d2a0a3194a99d91a39269826114bb9eb9da21dc97a78078d27050e3464e4782"),  # Swedish, female
}  # fmt: skip

_MACHINE_TO_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def debian_arch(machine: str | None = None) -> str | None:
    """This machine's Debian architecture (amd64, arm64), or None when no package is pinned for it."""
    if (platform.system() if machine is None else "Linux") != "Linux":
        return None
    return _MACHINE_TO_ARCH.get((machine or platform.machine()).lower())


def _ar_members(data: bytes, deb: Path) -> dict[str, bytes]:
    if not data.startswith(_AR_MAGIC):
        raise WakeforgeError(f"{deb} is not a Debian package (no ar header); delete it and fetch it again")
    members, pos = {}, len(_AR_MAGIC)
    while pos + _AR_HEADER <= len(data):
        header = data[pos : pos + _AR_HEADER]
        if header[58:60] != b"`\n":
            raise WakeforgeError(f"{deb} is damaged (bad ar member header at byte {pos}); delete it and fetch it again")
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip() or 0)
        start = pos + _AR_HEADER
        if start + size > len(data):
            raise WakeforgeError(f"{deb} is truncated (member {name!r}); delete it and fetch it again")
        members[name] = data[start : start + size]
        pos = start + size + (size % 2)  # members are 2-byte aligned
    return members


def unpack_deb(deb: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Extract the files of the package ``deb`` into the folder ``dest`` (created if needed)."""
    deb, dest = Path(deb), Path(dest)
    members = _ar_members(deb.read_bytes(), deb)
    data_name = next((n for n in members if n.startswith("data.tar")), None)
    if data_name is None:
        raise WakeforgeError(f"{deb} has no data.tar member; delete it and fetch it again")
    payload = members[data_name]
    if data_name.endswith(".zst"):
        try:
            import zstandard
        except ImportError as exc:
            raise WakeforgeError(f"{deb} is compressed with zstd: pip install zstandard") from exc
        payload = zstandard.ZstdDecompressor().decompress(payload, max_output_size=1 << 31)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(payload)) as tf:
            members = tf.getmembers()
            for member in members:  # links are kept (soname links), but only those inside dest
                check_tar_member(deb, member, dest)
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: the standard library checks too
                tf.extractall(dest, members, filter="data")
            else:
                tf.extractall(dest, members)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise WakeforgeError(f"could not unpack {deb} ({type(exc).__name__}: {exc}); delete it and fetch it again") from None



def fetch(
    name: str,
    dest: str | os.PathLike,
    mirrors: Sequence[str] = DEFAULT_MIRRORS,
    arch: str | None = None,
    packages: Sequence[DebPackage] | None = None,
    **download_options: Any,
) -> dict[str, Any]:
    """Download and unpack the pinned packages of ``name`` into ``<dest>/root``: the manifest.

    The manifest (written to a JSON file in ``dest`` by the caller, with
    :func:`wakeforge.audio.write_json`) holds ``available``, ``root``
    (``"root"``: paths in a manifest are relative to its folder, so the folder can move),
    ``packages`` and, when unavailable, ``reason``. A failed download or an architecture
    without pins gives ``available: False`` instead of an error. ``packages`` replaces the built-in
    pins (tests).
    """
    dest = Path(dest)
    arch = arch or debian_arch()
    packages = PACKAGES[name] if packages is None else packages
    manifest: dict[str, Any] = {"name": name, "available": False, "root": "root", "arch": arch,
                                "packages": {p.name: p.version for p in packages}}  # fmt: skip
    files = [p.files.get("all") or p.files.get(arch or "") for p in packages]
    if any(f is None for f in files):
        manifest["reason"] = f"no pinned Debian package of {name} for this machine ({platform.system()} {platform.machine()})"
        return manifest
    downloads = dest / "debs"
    tmp_root = dest / f".root.{uuid.uuid4().hex[:8]}"
    try:
        for package, file in zip(packages, files):
            deb = download(
                [f"{m.rstrip('/')}/{file.pool_path}" for m in mirrors], downloads / Path(file.pool_path).name,
                asset=f"Debian package {package.name} {package.version}", checksum=Checksum("sha256", file.sha256),
                size=file.size, hint="Mirrors for it go in config key assets.debian_mirrors.", **download_options,
            )  # fmt: skip
            unpack_deb(deb, tmp_root)
    except WakeforgeError as exc:
        shutil.rmtree(tmp_root, ignore_errors=True)
        manifest["reason"] = str(exc)
        return manifest
    shutil.rmtree(dest / "root", ignore_errors=True)
    os.replace(tmp_root, dest / "root")
    shutil.rmtree(downloads, ignore_errors=True)  # unpacked: the .deb files are not needed again
    manifest["available"] = True
    return manifest


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    try:
        manifest = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise WakeforgeError(f"cannot read the package manifest {path}: {exc}; delete it and re-run") from None
    if not isinstance(manifest, dict) or "available" not in manifest:
        raise WakeforgeError(f"{path} is not a package manifest; delete it and re-run")
    return manifest


def resolve(manifest_path: str | os.PathLike, relative: str) -> Path:
    """A path stored in a manifest (relative to the manifest's folder) as a usable path."""
    return Path(manifest_path).parent / relative


def data_root(manifest_path: str | os.PathLike) -> Path:
    """Where the packages of a data manifest (music, speech) were unpacked or, when they could not
    be fetched, ``/`` (copies installed on this machine), saying so with the reason."""
    manifest = read_manifest(manifest_path)
    if manifest["available"]:
        return resolve(manifest_path, manifest["root"])
    log.warning("Debian %s was not fetched (%s); looking for installed copies", manifest.get("name", manifest_path), manifest["reason"])
    return Path("/")


def lib_dirs(root: str | os.PathLike) -> list[Path]:
    """The folders under an unpacked ``root`` that hold shared libraries (for ``LD_LIBRARY_PATH``)."""
    root = Path(root)
    return sorted({p.parent for p in root.glob("usr/lib/**/*.so*")} | {p.parent for p in root.glob("lib/**/*.so*")})


def run_env(root: str | os.PathLike) -> dict[str, str]:
    """The environment to run a program unpacked under ``root`` with its own libraries, and its
    programs first on ``PATH`` (espeak-ng starts ``mbrola`` by name)."""
    paths = [str(p) for p in lib_dirs(root)]
    if os.environ.get("LD_LIBRARY_PATH"):
        paths.append(os.environ["LD_LIBRARY_PATH"])
    programs = os.pathsep.join([str(Path(root) / "usr" / "bin")] + ([os.environ["PATH"]] if os.environ.get("PATH") else []))
    return {**os.environ, "LD_LIBRARY_PATH": os.pathsep.join(paths), "PATH": programs}


def probe(command: Sequence[str], root: str | os.PathLike, timeout_s: float = 30.0) -> tuple[str | None, str | None]:
    """Run ``command`` with the libraries under ``root``: ``(its output, None)`` when it works,
    else ``(None, why not)`` in one line."""
    try:
        done = subprocess.run(list(command), env=run_env(root), capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{command[0]} does not run: {exc}"
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()
        return None, f"{Path(command[0]).name} does not run (exit {done.returncode}): {last[-1] if last else 'no output'}"
    return done.stdout, None
