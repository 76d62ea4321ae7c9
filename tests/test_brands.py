"""Several brands: [brands.NAME] profiles, [channels] saying which brand answers
where, an admin's choice kept in the store, and each channel's reviews in the
voice and form of address of its own brand."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.coach import ConversationKey
from bot.config import BrandSection, ConfigError, Settings, load_settings
from tests.slack_api_server import TEAM_ID
from tests.test_slack_app import Harness, _harness, texts

TU_CHANNEL, VOUS_CHANNEL, OTHER_CHANNEL = "C0TU", "C0VOUS", "C0OTHER"
VOUS_DRAFT = "Merci pour votre message, nous regardons votre commande tout de suite."


def two_brands(settings: Settings) -> Settings:
    return replace(
        settings,
        brands={"lea": BrandSection(name="Léa Sport", voice="warm", address="tu", platform="instagram"),
                "maison": BrandSection(name="Maison Verne", voice="formal", address="vous")},
        channels={f"slack:{TEAM_ID}/{TU_CHANNEL}": "lea", f"slack:{VOUS_CHANNEL}": "maison"},
    )


def test_brands_and_channels_are_read_from_the_settings(tmp_path: Path) -> None:
    config = tmp_path / "cm-coach.toml"
    config.write_text('[brand]\nname = "Default"\n'
                      '[brands.lea]\nname = "Léa Sport"\naddress = "tu"\nvoice = "warm"\n'
                      '[channels]\n"slack:T1/C1" = "lea"\n"discord:42" = "lea"\n', encoding="utf-8")
    s = load_settings(config, env={})
    assert s.brand_profile("lea").address == "tu" and s.brand_profile("lea").name == "Léa Sport"
    assert s.brand_profile(None).name == "Default" and s.brand_profile("unknown").name == "Default"
    assert s.channel_brand("slack", "T1", "C1") == "lea"
    assert s.channel_brand("discord", "42", "777") == "lea"  # the whole server
    assert s.channel_brand("slack", "T1", "C2") is None


@pytest.mark.parametrize(("text", "named"), [
    ('[channels]\n"slack:T1/C1" = "nobody"\n', "names brand 'nobody'"),
    ('[brands.x]\naddress = "toi"\n', "brands.x.address must be tu, vous or auto"),
    ('[brands.x]\nsize = 3\n', "unknown setting [brands.x] size"),
    ('[brands.x]\n[channels]\n"teams:C1" = "x"\n', "start it with slack: or discord:"),
])
def test_a_wrong_brand_setting_says_what_to_fix(tmp_path: Path, text: str, named: str) -> None:
    config = tmp_path / "cm-coach.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        load_settings(config, env={})


async def _review_in(h: Harness, channel: str, name: str, text: str = VOUS_DRAFT) -> dict[str, Any]:
    await h.slack.command(text, response_url=h.api.response_url(name), channel=channel)
    posted = await h.api.wait_for(lambda: h.api.posted_to(name))
    return posted[0].body


async def test_each_channel_is_reviewed_in_its_own_brands_voice_and_form_of_address(tmp_path: Path) -> None:
    async with _harness(tmp_path, two_brands) as h:
        tu = await _review_in(h, TU_CHANNEL, "tu")
        vous = await _review_in(h, VOUS_CHANNEL, "vous")
        other = await _review_in(h, OTHER_CHANNEL, "other")
    shown = texts(tu["blocks"])
    assert "voix de Léa Sport" in shown  # the review says whose voice it used (a French draft: French words)
    assert "Merci pour ton message" in shown  # its rewrite speaks as Léa Sport does: « tu »
    assert "voix de Maison Verne" in texts(vous["blocks"])
    assert vous["blocks"][0]["text"]["text"].startswith("Prêt à publier")  # « vous » is Maison Verne's own
    assert tu["blocks"][0]["text"]["text"].startswith("À retravailler")
    assert "Aerolux" in texts(other["blocks"])  # no mapping: [brand]


async def test_an_admin_chooses_a_channels_brand_and_others_cannot(tmp_path: Path) -> None:
    def with_admin(settings: Settings) -> Settings:
        s = two_brands(settings)
        return replace(s, slack=replace(s.slack, admins=("U0ADMIN",)))

    async with _harness(tmp_path, with_admin) as h:
        await h.slack.command("brand maison", response_url=h.api.response_url("refused"), channel=OTHER_CHANNEL)
        refused = await h.api.wait_for(lambda: h.api.posted_to("refused"))
        await h.slack.command("brand unknown", response_url=h.api.response_url("unknown"), channel=OTHER_CHANNEL,
                              user="U0ADMIN")
        unknown = await h.api.wait_for(lambda: h.api.posted_to("unknown"))
        await h.slack.command("brand maison", response_url=h.api.response_url("set"), channel=OTHER_CHANNEL,
                              user="U0ADMIN")
        chosen = await h.api.wait_for(lambda: h.api.posted_to("set"))
        after = await _review_in(h, OTHER_CHANNEL, "after")
        trail = h.store.audit_trail(ConversationKey("slack", TEAM_ID, "U0ADMIN"))
    assert "Only a workspace admin" in refused[0].body["text"]
    assert "no brand named unknown" in unknown[0].body["text"] and "lea, maison" in unknown[0].body["text"]
    assert "Maison Verne" in chosen[0].body["text"]
    assert "Maison Verne" in texts(after["blocks"])
    assert any(row["action"] == "brand.set" for row in trail)


async def test_a_discord_server_mapped_to_a_brand_gets_its_voice(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    import discord
    from discord_fakes import APP_ID, GUILD_ID, TOKEN, FakeDiscord, slash_review

    from bot.config import DiscordSection, ReviewSection, StoreSection
    from bot.platforms.discord.bot import CoachBot
    from bot.store import Store

    settings = Settings(
        review=ReviewSection(engine="offline"), store=StoreSection(data_dir=str(tmp_path)),
        discord=DiscordSection(cooldown_seconds=0.0),
        brands={"lea": BrandSection(name="Léa Sport", address="tu")},
        channels={f"discord:{GUILD_ID}": "lea"},
    )
    fake = FakeDiscord()
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.base)
    bot = CoachBot(settings, store=Store(tmp_path / "cm-coach.sqlite3"))
    try:
        await bot.login(TOKEN)
        bot._connection.parse_interaction_create(slash_review(fake.commands, draft=VOUS_DRAFT))  # type: ignore[arg-type]
        follow = (await fake.wait_for("POST", f"/webhooks/{APP_ID}/"))[-1].body
    finally:
        await bot.close()
        await fake.stop()
    shown = str(follow)
    assert "voix de Léa Sport" in shown and "ton message" in shown
