"""The files a run uploads and their keys: a file's name, or a folder's files by their inner path.

Everything is refused before anything is read when two files would share a key (the second upload
would replace the first) or the key prefix starts with `/`. Only regular files are taken (a FIFO
would block the run forever); a folder's symlinks to files are followed, to folders are not.
"""

from __future__ import annotations

import os
import stat as stat_module
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from conveyor.errors import ConveyorError
from conveyor_cli.uploads.cache import Stat

MAX_KEY_BYTES = 1024


@dataclass(frozen=True, slots=True)
class LocalFile:
    path: str
    """As the user would name it: the argument, or the folder argument joined with the path."""
    key: str
    stat: Stat
    problem: str | None = None
    """Why this file cannot be uploaded under its key (the others still are)."""

    @property
    def size(self) -> int:
        return self.stat.size


def files(paths: list[str], key_prefix: str) -> list[LocalFile]:
    if key_prefix.startswith("/"):
        raise ConveyorError(f"--key-prefix {key_prefix!r} starts with '/': keys never do")
    if "" in paths:  # Path("") is ".": an unset shell variable would upload the whole folder
        raise ConveyorError("an empty path names no file; write . for the current folder")
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise ConveyorError(f"no such file or folder: {', '.join(missing)}")
    found: list[LocalFile] = []
    for path in paths:
        if os.path.isdir(path):
            if Path(path).resolve() == Path(Path(path).anchor or "/").resolve():
                raise ConveyorError(
                    f"{path!r} is the whole filesystem (an unset variable before a '/'?): "
                    "name the folder to upload"
                )
            found += _inside(path, key_prefix)
        elif os.path.isfile(path):
            found.append(_file(path, key_prefix + os.path.basename(path)))
        else:
            raise ConveyorError(f"{path!r} is not a regular file or folder")
    unique = list({(f.stat.path, f.key): f for f in found}.values())  # `x x` is x once
    _refuse_shared_keys(unique)
    return sorted(unique, key=lambda f: f.key)


def key_problem(key: str) -> str | None:
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        return "its name is not valid UTF-8, which S3 keys must be"
    if len(encoded) > MAX_KEY_BYTES:
        return f"its key is {len(encoded):,} bytes; S3 keys are at most {MAX_KEY_BYTES:,}"
    return None


def _inside(root: str, key_prefix: str) -> list[LocalFile]:
    found = []
    for folder, _, names in os.walk(root):
        relative = os.path.relpath(folder, root)
        for name in names:
            path = os.path.join(folder, name)
            inner = name if relative == "." else f"{relative}/{name}".replace(os.sep, "/")
            try:
                st = os.stat(path)
            except OSError:
                continue  # a dangling symlink: there is nothing to upload
            if stat_module.S_ISREG(st.st_mode):
                found.append(_file(path, key_prefix + inner, st))
    return found


def _file(path: str, key: str, st: os.stat_result | None = None) -> LocalFile:
    st = st or os.stat(path)
    return LocalFile(path, key, Stat.of(os.path.abspath(path), st), key_problem(key))


def _refuse_shared_keys(found: list[LocalFile]) -> None:
    by_key: dict[str, list[str]] = defaultdict(list)
    for f in found:
        by_key[f.key].append(f.path)
    shared = {key: paths for key, paths in by_key.items() if len(paths) > 1}
    if shared:
        key, paths = next(iter(sorted(shared.items())))
        more = f" (and {len(shared) - 1} more keys)" if len(shared) > 1 else ""
        raise ConveyorError(
            f"{' and '.join(repr(p) for p in paths)} would both be uploaded as {key!r}{more}: "
            "upload them separately, under different --key-prefix values"
        )
