"""Settings: a TOML file, then one environment override per key.

Where the file is looked for, in order: `--config PATH`, `./cm-coach.toml`,
the user's config directory (`cm-coach/config.toml`). Every key can be
overridden by `CM_COACH_<SECTION>_<KEY>` (e.g. `CM_COACH_BRAND_VOICE=warm`).
Secrets (tokens, API keys) are read from the environment only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from bot.review.models import PLATFORMS, VOICES, BrandProfile
from bot.review.options import LLMOptions, ReviewOptions
from bot.review.taxonomy import LANGUAGES


class ConfigError(Exception):
    """A setting that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class BrandSection:
    name: str = ""
    voice: str = "neutral"
    address: str = "auto"
    signature: str = ""
    platform: str = "generic"
    banned_terms: tuple[str, ...] = ()
    # Extra rules: same shape as a rule pack's rules (see bot/review/packs/).
    extra_rules: tuple[dict[str, Any], ...] = ()


# The [review] and [llm] sections are the review's own options (bot.review.options).
ReviewSection = ReviewOptions
LLMSection = LLMOptions


@dataclass(frozen=True)
class SlackSection:
    api_url: str = "https://slack.com/api/"
    port: int = 3000
    mode: str = "socket"  # socket | http
    command: str = "/review"  # the slash command, as named in manifest.yml
    host: str = "0.0.0.0"  # HTTP mode: the address to listen on
    path: str = "/slack/events"  # HTTP mode: Request URL path for events, commands, interactivity
    log_level: str = "warning"  # debug | info | warning | error (what the app logs on stderr)
    # Processes running offline reviews, so acks never wait behind a review:
    # -1 = one per CPU but one, 0 = review inside the app's own process.
    review_processes: int = -1
    # Reviews one person may ask for in any `user_limit_seconds` (0: no limit).
    user_limit: int = 10
    user_limit_seconds: float = 60.0
    # Users (ids such as U0123ABCD) who may choose a channel's brand besides workspace admins.
    admins: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiscordSection:
    dev_guild_id: int = 0
    cooldown_seconds: float = 5.0
    message_content: bool = True


@dataclass(frozen=True)
class TeamSection:
    # Slack channel (id, e.g. C0123ABCD) where drafts are sent for a teammate's approval;
    # empty: no approval buttons (except in crisis mode, which asks for them).
    approvers_channel: str = ""
    # Optional Slack user group (id, e.g. S0123ABCD) whose members may decide, besides
    # the approvers' channel's members.
    approvers_group: str = ""
    # How long `crisis on` lasts when no duration is given, in hours.
    crisis_hours: float = 24.0
    # Discord: the approvers' channel (its id) and the role whose members decide
    # (0: anyone who can see that channel, never on their own request).
    discord_approvers_channel: int = 0
    discord_approver_role: int = 0


@dataclass(frozen=True)
class StoreSection:
    data_dir: str = ""
    retention_days: int = 90
    # Empty: SQLite in data_dir. postgresql://USER:PASSWORD@HOST:PORT/DB: several instances share it.
    url: str = ""


@dataclass(frozen=True)
class Settings:
    brand: BrandSection = field(default_factory=BrandSection)
    review: ReviewSection = field(default_factory=ReviewSection)
    llm: LLMSection = field(default_factory=LLMSection)
    slack: SlackSection = field(default_factory=SlackSection)
    discord: DiscordSection = field(default_factory=DiscordSection)
    store: StoreSection = field(default_factory=StoreSection)
    team: TeamSection = field(default_factory=TeamSection)
    # More brands than [brand]: [brands.NAME] tables, same keys as [brand].
    brands: dict[str, BrandSection] = field(default_factory=dict)
    # Where each brand answers: "slack:TEAM/CHANNEL", "slack:CHANNEL",
    # "discord:GUILD/CHANNEL" or "discord:GUILD" -> a name of [brands].
    channels: dict[str, str] = field(default_factory=dict)
    source: str = "defaults"

    @property
    def profile(self) -> BrandProfile:
        return _profile(self.brand)

    def brand_profile(self, name: str | None) -> BrandProfile:
        """The named brand's profile; [brand]'s for None or an unknown name."""
        section = self.brands.get(name or "")
        return self.profile if section is None else _profile(section)

    def channel_brand(self, platform: str, workspace: str, channel: str) -> str | None:
        """The brand the settings give a channel (most specific first), or None."""
        for where in (f"{platform}:{workspace}/{channel}", f"{platform}:{channel}", f"{platform}:{workspace}"):
            if where in self.channels and (workspace or not where.endswith(":")):
                return self.channels[where]
        return None

    @property
    def llm_api_key(self) -> str:
        """From the environment only; never stored, never logged."""
        return os.environ.get("CM_COACH_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY", "")

    @property
    def llm_base_url(self) -> str:
        return (
            os.environ.get("CM_COACH_LLM_BASE_URL")
            or self.llm.base_url
            or os.environ.get("OPENAI_BASE_URL", "")
        )

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_api_key or self.llm_base_url)

    @property
    def data_dir(self) -> Path:
        if self.store.data_dir:
            return Path(self.store.data_dir).expanduser()
        from bot.folders import user_folder

        return user_folder("data")


def _profile(b: BrandSection) -> BrandProfile:
    return BrandProfile(
        name=b.name, voice=b.voice, address=b.address,  # type: ignore[arg-type]
        signature=b.signature, platform=b.platform,
        banned_terms=tuple(b.banned_terms), extra_rules=tuple(b.extra_rules),
    )


# Sections read as one table each; [brands.NAME] and [channels] are read apart.
_SECTIONS = {f.name: f for f in fields(Settings) if f.name not in ("source", "brands", "channels")}


def _user_config_path() -> Path:
    from bot.folders import user_folder

    return user_folder("config") / "config.toml"


def find_config(
    explicit: str | os.PathLike[str] | None, env: dict[str, str] | None = None
) -> Path | None:
    if explicit:
        return Path(explicit)
    named = (os.environ if env is None else env).get("CM_COACH_CONFIG")
    if named:
        return Path(named)
    local = Path("cm-coach.toml")
    if local.is_file():
        return local
    user = _user_config_path()
    return user if user.is_file() else None


def _coerce(value: Any, kind: Any, where: str) -> Any:
    text_kind = str(kind)
    try:
        if kind is bool or text_kind == "bool":
            if isinstance(value, bool):
                return value
            low = str(value).strip().lower()
            if low in {"1", "true", "yes", "on"}:
                return True
            if low in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(value)
        if kind is int or text_kind == "int":
            return int(value)
        if kind is float or text_kind == "float":
            return float(value)
        if text_kind.startswith("tuple[str"):
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(str(v) for v in value)
        if text_kind.startswith("dict["):
            return _table(value, text_kind)
        if text_kind.startswith("tuple[dict"):
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ValueError("a list of tables")
            return tuple(value)
        if isinstance(value, (dict, list)):  # a table or list where text is expected
            raise ValueError("expected a text value")
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: cannot read {value!r} ({exc}); fix it in the config file") from exc


def _table(value: Any, kind: str) -> dict[str, Any]:
    """A TOML table, or JSON text from an environment variable."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    if not isinstance(value, dict):
        raise ValueError("expected a table")
    if kind == "dict[str, str]":
        return {str(k): str(v) for k, v in value.items()}
    if kind == "dict[str, dict[str, float]]":
        if not all(isinstance(v, dict) for v in value.values()):
            raise ValueError("expected a table per model")
        return {str(k): {str(n): float(p) for n, p in v.items()} for k, v in value.items()}
    return dict(value)


def _section(name: str, raw: dict[str, Any], env: dict[str, str], where: str) -> Any:
    cls = _SECTIONS[name].default_factory()  # type: ignore[misc]
    prefix = f"CM_COACH_{name.upper()}_"
    if not raw and not any(prefix + f.name.upper() in env for f in fields(cls)):
        return cls  # nothing set: the defaults, without reading the types (a cold start's 2 ms)
    hints = get_type_hints(type(cls))
    values: dict[str, Any] = {}
    for key, val in raw.items():
        if key not in hints:
            raise ConfigError(f"{where}: unknown setting [{name}] {key}; see config.example.toml")
        values[key] = _coerce(val, hints[key], f"{where} [{name}] {key}")
    for key, kind in hints.items():
        var = f"CM_COACH_{name.upper()}_{key.upper()}"
        if var in env:
            values[key] = _coerce(env[var], kind, var)
    return replace(cls, **values)


def _validate_brand(b: BrandSection, name: str, where: str) -> None:
    if b.voice not in VOICES:
        raise ConfigError(f"{where}: {name}.voice must be one of {', '.join(VOICES)}")
    if b.address not in ("tu", "vous", "auto"):
        raise ConfigError(f"{where}: {name}.address must be tu, vous or auto")
    if b.platform not in PLATFORMS:
        raise ConfigError(f"{where}: {name}.platform must be one of {', '.join(PLATFORMS)}")


def _brands(raw: Any, where: str) -> dict[str, BrandSection]:
    """[brands.NAME] tables: each a [brand] of its own."""
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise ConfigError(f"{where}: [brands] holds one table per brand, e.g. [brands.aerolux_fr]")
    if not raw:
        return {}
    hints = get_type_hints(BrandSection)
    brands: dict[str, BrandSection] = {}
    for name, table in raw.items():
        values: dict[str, Any] = {}
        for key, val in table.items():
            if key not in hints:
                raise ConfigError(f"{where}: unknown setting [brands.{name}] {key}; see config.example.toml")
            values[key] = _coerce(val, hints[key], f"{where} [brands.{name}] {key}")
        brands[str(name)] = replace(BrandSection(name=str(name)), **values)
    return brands


def _channels(raw: Any, brands: dict[str, BrandSection], where: str) -> dict[str, str]:
    try:
        table = _table(raw, "dict[str, str]")
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: [channels] maps \"slack:TEAM/CHANNEL\" to a brand name ({exc})") from exc
    for place, name in table.items():
        if place.split(":", 1)[0] not in ("slack", "discord") or ":" not in place:
            raise ConfigError(f"{where}: [channels] {place!r}: start it with slack: or discord:, "
                              "e.g. \"slack:T0123/C0456\"")
        if name not in brands:
            known = ", ".join(sorted(brands)) or "none yet: add a [brands.NAME] table"
            raise ConfigError(f"{where}: [channels] {place!r} names brand {name!r}; brands: {known}")
    return table


def _validate(s: Settings, where: str) -> None:
    _validate_brand(s.brand, "brand", where)
    for name, brand in s.brands.items():
        _validate_brand(brand, f"brands.{name}", where)
    if not 0 < s.team.crisis_hours <= 24 * 30:
        raise ConfigError(f"{where}: team.crisis_hours must be above 0 and at most 720 (30 days)")
    if s.review.engine not in ("offline", "llm", "auto"):
        raise ConfigError(f"{where}: review.engine must be offline, llm or auto")
    if s.review.language not in ("auto", *LANGUAGES):
        raise ConfigError(f"{where}: review.language must be auto, {', '.join(LANGUAGES[:-1])} "
                          f"or {LANGUAGES[-1]}")
    if s.review.max_draft_chars < 1:
        raise ConfigError(f"{where}: review.max_draft_chars must be a positive number")
    if s.llm.json_mode not in ("auto", "json_schema", "json_object", "none"):
        raise ConfigError(f"{where}: llm.json_mode must be auto, json_schema, json_object or none")
    if s.llm.timeout <= 0 or s.llm.deadline <= 0 or s.llm.max_concurrency < 1:
        raise ConfigError(f"{where}: llm.timeout and llm.deadline must be above 0, "
                          "llm.max_concurrency at least 1")
    if s.llm.first_token_timeout <= 0:
        raise ConfigError(f"{where}: llm.first_token_timeout must be above 0")
    if min(s.llm.context_chars, s.llm.draft_chars, s.llm.max_completion_tokens) < 0:
        raise ConfigError(f"{where}: llm.context_chars, llm.draft_chars and "
                          "llm.max_completion_tokens must be 0 or more")


def load_settings(
    path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None
) -> Settings:
    """Read the settings; raise ConfigError with a one-line fix on any problem."""
    env = dict(os.environ) if env is None else env
    found = find_config(path, env)
    raw: dict[str, Any] = {}
    where = "defaults"
    if found is not None:
        where = str(found)
        import tomllib  # only with a file to read: it and datetime cost a cold review 3 ms

        try:
            raw = tomllib.loads(found.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {found} not found; check the path or drop --config") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {found} cannot be read ({exc}); check its permissions") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {found} is not valid TOML ({exc}); fix that line") from exc
    for name in raw:
        if name not in _SECTIONS and name not in ("brands", "channels"):
            raise ConfigError(f"{where}: unknown section [{name}]; see config.example.toml")
        if not isinstance(raw[name], dict):
            raise ConfigError(f"{where}: [{name}] must be a table")
    sections = {name: _section(name, raw.get(name, {}), env, where) for name in _SECTIONS}
    brands = _brands(raw.get("brands", {}), where)
    channels = _channels(env.get("CM_COACH_CHANNELS") or raw.get("channels", {}), brands,
                         "CM_COACH_CHANNELS" if env.get("CM_COACH_CHANNELS") else where)
    settings = Settings(**sections, brands=brands, channels=channels, source=where)
    _validate(settings, where)
    return settings
