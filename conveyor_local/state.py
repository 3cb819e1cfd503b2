"""Where a running local stack says where it is, so `conveyor` in another terminal finds it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

HOME = "CONVEYOR_HOME"
"""Folder for the local stack's state and job logs (default ~/.conveyor)."""


def home() -> Path:
    return Path(os.environ.get(HOME) or Path.home() / ".conveyor")


def state_file() -> Path:
    return home() / "local.json"


def write(state: dict[str, Any]) -> None:
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(path)


def read() -> dict[str, Any] | None:
    """The running stack's state, or None (no file, or its process is gone)."""
    try:
        state = json.loads(state_file().read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(int(state["pid"]), 0)
    except (KeyError, ValueError, ProcessLookupError):
        return None
    except PermissionError:
        pass  # alive, another user's
    return state


def dead() -> int | None:
    """The pid a state file names when that process is gone (the stack died without cleaning
    up); the file is removed, so this is said once."""
    try:
        pid = int(json.loads(state_file().read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if read() is not None:
        return None
    remove(pid)
    return pid


def remove(pid: int) -> None:
    """Remove the state file if it is still ours."""
    path = state_file()
    try:
        if json.loads(path.read_text()).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass
