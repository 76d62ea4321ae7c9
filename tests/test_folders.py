"""cm-coach's user folders: where platformdirs puts them, without importing it on Linux."""

from __future__ import annotations

import sys

import platformdirs
import pytest

from bot.folders import user_folder

FINDERS = {"config": platformdirs.user_config_dir, "data": platformdirs.user_data_dir,
           "cache": platformdirs.user_cache_dir}
VARIABLES = {"config": "XDG_CONFIG_HOME", "data": "XDG_DATA_HOME", "cache": "XDG_CACHE_HOME"}


@pytest.mark.parametrize("kind", sorted(FINDERS))
@pytest.mark.parametrize("value", [None, "", "   ", "/srv/somewhere", "/srv/trailing/", "relative/dir"])
@pytest.mark.parametrize("home", ["/home/someone", "/home/someone/", "relative-home", None])
def test_each_folder_is_where_platformdirs_puts_it(kind: str, value: str | None, home: str | None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if home is None:
        monkeypatch.delenv("HOME", raising=False)
    else:
        monkeypatch.setenv("HOME", home)
    if value is None:
        monkeypatch.delenv(VARIABLES[kind], raising=False)
    else:
        monkeypatch.setenv(VARIABLES[kind], value)
    expected = FINDERS[kind]("cm-coach") if kind == "cache" else FINDERS[kind]("cm-coach", appauthor=False)
    assert str(user_folder(kind)) == expected


def test_android_is_left_to_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANDROID_DATA", "/data")
    monkeypatch.setenv("ANDROID_ROOT", "/system")
    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda app, appauthor=None: f"/android/{app}")
    assert str(user_folder("cache")) == "/android/cm-coach"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the shortcut is Linux's")
def test_a_review_does_not_import_platformdirs_on_linux(tmp_path) -> None:
    import subprocess

    code = ("import sys; from bot.cli import main; main(['review', '--engine', 'offline', 'Merci !']);"
            "print('platformdirs' in sys.modules, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NO_COLOR": "1"})
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "False"
