"""The user's folders for cm-coach's configuration, data and cache.

platformdirs knows every system's conventions; on Linux they are the XDG variables
and their defaults, which this module reads itself: importing platformdirs (and the
tempfile, random and shutil modules it pulls in) took about 4 ms of every cold
`cm-coach review`, for three environment lookups. Elsewhere (macOS, Windows,
Android) platformdirs answers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "cm-coach"
# The XDG base directory variables and their defaults, by kind of folder.
_XDG = {"config": ("XDG_CONFIG_HOME", "~/.config"), "data": ("XDG_DATA_HOME", "~/.local/share"),
        "cache": ("XDG_CACHE_HOME", "~/.cache")}


def _plain_linux() -> bool:
    """Linux, not Android (which platformdirs treats apart)."""
    android = os.environ.get("ANDROID_DATA") == "/data" and os.environ.get("ANDROID_ROOT") == "/system"
    return sys.platform.startswith("linux") and not android


def user_folder(kind: str) -> Path:
    """`config`, `data` or `cache`: cm-coach's folder of that kind for this user, as
    platformdirs names it."""
    if _plain_linux():
        variable, default = _XDG[kind]
        base = os.environ.get(variable, "")
        if base.startswith("/"):  # XDG: a relative path is to be ignored
            return Path(base) / APP
        home = os.environ.get("HOME", "")
        if home.startswith("/"):  # else platformdirs asks the password database
            return Path(home.rstrip("/") + default[1:]) / APP
    import platformdirs

    if kind == "cache":  # as it has always been asked for (on Windows, under an author folder)
        return Path(platformdirs.user_cache_dir(APP))
    finder = {"config": platformdirs.user_config_dir, "data": platformdirs.user_data_dir}[kind]
    return Path(finder(APP, appauthor=False))
