"""Settings: where the file is found, environment overrides, errors, the example file."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

EXAMPLE = Path(__file__).parents[1] / "config.example.toml"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No override, no user config and an empty working directory for every test."""
    import os

    for key in list(os.environ):
        if key.startswith(("CM_COACH_", "OPENAI_")):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _user_config(home: Path) -> Path:
    return home / ".config" / "cm-coach" / "config.toml"


# --- where the file is found ----------------------------------------------------------


def test_defaults_when_no_file_exists() -> None:
    s = load_settings()
    assert s.source == "defaults"
    assert s == Settings()


def test_user_config_dir_is_read(clean_env: Path) -> None:
    path = _write(_user_config(clean_env), '[brand]\nname = "User"\n')
    s = load_settings()
    assert s.brand.name == "User"
    assert s.source == str(path)


def test_working_directory_file_wins_over_user_config(clean_env: Path) -> None:
    _write(_user_config(clean_env), '[brand]\nname = "User"\n')
    _write(Path("cm-coach.toml"), '[brand]\nname = "Local"\n')
    assert load_settings().brand.name == "Local"


def test_explicit_path_wins_over_everything(clean_env: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _write(_user_config(clean_env), '[brand]\nname = "User"\n')
    _write(Path("cm-coach.toml"), '[brand]\nname = "Local"\n')
    from_env = _write(tmp_path / "env.toml", '[brand]\nname = "FromEnv"\n')
    monkeypatch.setenv("CM_COACH_CONFIG", str(from_env))
    assert load_settings().brand.name == "FromEnv"
    explicit = _write(tmp_path / "explicit.toml", '[brand]\nname = "Explicit"\n')
    assert load_settings(explicit).brand.name == "Explicit"
    assert load_settings(str(explicit)).source == str(explicit)


def test_sections_not_in_the_file_keep_their_defaults(tmp_path: Path) -> None:
    s = load_settings(_write(tmp_path / "c.toml", "[review]\nmax_draft_chars = 500\n"))
    assert s.review.max_draft_chars == 500
    assert s.review.engine == Settings().review.engine
    assert s.brand == Settings().brand


def test_profile_carries_the_brand_section(tmp_path: Path) -> None:
    s = load_settings(_write(tmp_path / "c.toml", (
        '[brand]\nname = "Acme"\nvoice = "impertinent"\naddress = "tu"\nplatform = "x"\n'
        'banned_terms = ["cher client", "malheureusement"]\n'
        'extra_rules = [{id = "x", category = "insult", rule = "federate", patterns = ["nul"], '
        'message = "m"}]\n'
    )))
    p = s.profile
    assert (p.name, p.voice, p.address, p.platform) == ("Acme", "impertinent", "tu", "x")
    assert p.banned_terms == ("cher client", "malheureusement")
    assert p.extra_rules[0]["id"] == "x"


# --- environment overrides ------------------------------------------------------------


def test_env_overrides_coerce_types(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.toml", '[brand]\nvoice = "warm"\n[review]\nmax_draft_chars = 500\n')
    env = {
        "CM_COACH_BRAND_VOICE": "formal",
        "CM_COACH_REVIEW_MAX_DRAFT_CHARS": "1234",
        "CM_COACH_LLM_TIMEOUT": "2.5",
        "CM_COACH_DISCORD_MESSAGE_CONTENT": "false",
        "CM_COACH_BRAND_BANNED_TERMS": "cher client, malheureusement ,,",
    }
    s = load_settings(path, env=env)
    assert s.brand.voice == "formal"  # the environment beats the file
    assert s.review.max_draft_chars == 1234 and isinstance(s.review.max_draft_chars, int)
    assert s.llm.timeout == 2.5 and isinstance(s.llm.timeout, float)
    assert s.discord.message_content is False
    assert s.brand.banned_terms == ("cher client", "malheureusement")


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", True), ("true", True), ("Yes", True), ("on", True),
    ("0", False), ("false", False), ("NO", False), ("off", False),
])
def test_env_booleans(raw: str, expected: bool) -> None:
    assert load_settings(env={"CM_COACH_DISCORD_MESSAGE_CONTENT": raw}).discord.message_content is expected


def test_env_overrides_read_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CM_COACH_REVIEW_ENGINE", "offline")
    monkeypatch.setenv("CM_COACH_BRAND_PLATFORM", "linkedin")
    s = load_settings()
    assert s.review.engine == "offline"
    assert s.profile.platform == "linkedin"


@pytest.mark.parametrize(("var", "value"), [
    ("CM_COACH_REVIEW_MAX_DRAFT_CHARS", "ten thousand"),
    ("CM_COACH_LLM_TIMEOUT", "soon"),
    ("CM_COACH_DISCORD_MESSAGE_CONTENT", "maybe"),
    ("CM_COACH_DISCORD_DEV_GUILD_ID", "1.5"),
])
def test_bad_env_values_name_the_variable(var: str, value: str) -> None:
    with pytest.raises(ConfigError, match=var):
        load_settings(env={var: value})


def test_invalid_choices_from_the_env_are_refused() -> None:
    with pytest.raises(ConfigError, match="voice"):
        load_settings(env={"CM_COACH_BRAND_VOICE": "shouty"})
    with pytest.raises(ConfigError, match=r"review\.engine"):
        load_settings(env={"CM_COACH_REVIEW_ENGINE": "magic"})
    with pytest.raises(ConfigError, match="positive"):
        load_settings(env={"CM_COACH_REVIEW_MAX_DRAFT_CHARS": "0"})
    with pytest.raises(ConfigError, match=r"review\.language"):
        load_settings(env={"CM_COACH_REVIEW_LANGUAGE": "de"})


# --- errors from the file -------------------------------------------------------------


def test_file_errors_are_config_errors_with_a_useful_message(tmp_path: Path) -> None:
    cases = {
        "missing": (tmp_path / "missing.toml", "not found"),
        "directory": (tmp_path, "cannot be read"),
        "toml": (_write(tmp_path / "bad.toml", "[brand\nname = 1\n"), "not valid TOML"),
        "section": (_write(tmp_path / "s.toml", "[brnad]\nname = 'x'\n"), "unknown section [brnad]"),
        "key": (_write(tmp_path / "k.toml", "[review]\nmax_chars = 5\n"), "unknown setting [review] max_chars"),
        "not a table": (_write(tmp_path / "t.toml", "brand = 'Acme'\n"), "[brand] must be a table"),
        "type": (_write(tmp_path / "i.toml", "[review]\nmax_draft_chars = 'lots'\n"), "max_draft_chars"),
        "list": (_write(tmp_path / "l.toml", "[brand]\nbanned_terms = 3\n"), "banned_terms"),
        "rules": (_write(tmp_path / "r.toml", "[brand]\nextra_rules = ['x']\n"), "extra_rules"),
        "text": (_write(tmp_path / "n.toml", "[brand]\nname = ['Acme']\n"), "[brand] name"),
        "platform": (_write(tmp_path / "p.toml", "[brand]\nplatform = 'myspace'\n"), "brand.platform"),
        "address": (_write(tmp_path / "a.toml", "[brand]\naddress = 'toi'\n"), "brand.address"),
        "encoding": (tmp_path / "latin1.toml", "cannot be read"),
    }
    (tmp_path / "latin1.toml").write_bytes("[brand]\nname = 'Société'\n".encode("latin-1"))
    for name, (path, words) in cases.items():
        with pytest.raises(ConfigError) as info:
            load_settings(path)
        message = str(info.value)
        assert words in message, (name, message)
        assert "\n" not in message, name


def test_a_broken_user_config_names_its_path(clean_env: Path) -> None:
    path = _write(_user_config(clean_env), "[review\n")
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_settings()


# --- config.example.toml --------------------------------------------------------------


def _settings_keys() -> dict[str, set[str]]:
    out = {}
    for section in fields(Settings):
        if section.name in ("source", "brands", "channels"):  # tables of tables, documented as examples
            continue
        out[section.name] = {f.name for f in fields(section.default_factory())}  # type: ignore[misc]
    return out


def test_the_example_config_loads() -> None:
    s = load_settings(EXAMPLE, env={})
    assert s.source == str(EXAMPLE)


def test_every_documented_key_exists_in_settings() -> None:
    documented = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    known = _settings_keys()
    for section, values in documented.items():
        assert section in known, f"[{section}] is documented but is not a Settings section"
        unknown = set(values) - known[section]
        assert not unknown, f"[{section}] documents keys Settings lacks: {sorted(unknown)}"


def test_every_setting_is_documented_in_the_example() -> None:
    documented = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    missing = {
        section: sorted(keys - set(documented.get(section, {})))
        for section, keys in _settings_keys().items()
    }
    missing = {s: k for s, k in missing.items() if k}
    assert not missing, f"config.example.toml lacks these settings: {missing}"


def test_every_example_key_has_a_comment() -> None:
    """Each key line is preceded by a comment line (or carries one): the file documents."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    uncommented = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "[")) or "=" not in stripped:
            continue
        if stripped[0] in "]}\"'" or not stripped.split("=")[0].strip().replace("_", "").isalnum():
            continue  # the continuation of a multi-line value
        previous = lines[i - 1].strip() if i else ""
        if "#" not in line and not previous.startswith("#") and "=" not in previous:
            uncommented.append(stripped.split("=")[0].strip())
    assert not uncommented, f"keys without a comment: {uncommented}"
