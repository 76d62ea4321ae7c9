"""What the review reads of the application's settings, declared here so that the
review package never imports the configuration layer: bot.config reads the [review]
and [llm] sections of the config file into these dataclasses, and its Settings
satisfies ReviewSettings. A caller without a configuration (a test, a script) gives a
ReviewSetup: a brand profile and options, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.review.models import BrandProfile


@dataclass(frozen=True)
class ReviewOptions:
    """The [review] section: which engine, how long a draft may be, its language."""

    engine: str = "auto"  # offline | llm | auto
    max_draft_chars: int = 10_000
    language: str = "auto"  # auto, or one of taxonomy.LANGUAGES
    second_reading: bool = True  # a learned model reads again what the rules let through


@dataclass(frozen=True)
class LLMOptions:
    """The [llm] section: the model, its endpoint's limits, what is sent to it."""

    base_url: str = ""
    model: str = "gpt-4o-mini"
    timeout: float = 20.0
    deadline: float = 45.0
    max_concurrency: int = 4
    max_retries: int = 4
    temperature: float = 0.2
    cache_size: int = 512
    # api_key: environment only (OPENAI_API_KEY or CM_COACH_LLM_API_KEY).
    json_mode: str = "auto"  # auto | json_schema | json_object | none
    max_tokens: int = 2000  # 0: not sent (reasoning models want max_completion_tokens)
    backoff_initial: float = 0.5  # seconds before the first retry, doubled each time
    backoff_max: float = 8.0
    prompts_dir: str = ""  # "": the project's prompts/ folder
    # Reasoning models: sent instead of max_tokens when above 0.
    max_completion_tokens: int = 0
    stream: bool = True  # stream answers, so that a hung server costs first_token_timeout
    first_token_timeout: float = 10.0
    context_chars: int = 2000  # most characters of the customer's message sent (both ends kept)
    draft_chars: int = 4000  # most characters of the draft sent
    redact: bool = True  # e-mails, phones, card and order numbers replaced by tokens
    api_version: str = ""  # set: Azure deployment URLs through the SDK's Azure client
    extra_headers: dict[str, str] = field(default_factory=dict)
    extra_query: dict[str, str] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)
    # USD per million tokens, per model: {"gpt-4o-mini": {"prompt": 0.15, "cached": 0.075,
    # "completion": 0.6}}; `eval --engine llm` prints the cost from it.
    prices: dict[str, dict[str, float]] = field(default_factory=dict)


class ReviewSettings(Protocol):
    """What the Reviewer and the LLM path read: the brand profile, the review and LLM
    options, and the LLM endpoint (bot.config.Settings reads its key from the
    environment each time and never stores it)."""

    @property
    def profile(self) -> BrandProfile: ...

    @property
    def review(self) -> ReviewOptions: ...

    @property
    def llm(self) -> LLMOptions: ...

    @property
    def llm_base_url(self) -> str: ...

    @property
    def llm_api_key(self) -> str: ...

    @property
    def llm_configured(self) -> bool: ...


@dataclass(frozen=True)
class ReviewSetup:
    """ReviewSettings without a config file: a brand profile and options; no LLM
    endpoint unless one is given."""

    profile: BrandProfile = field(default_factory=BrandProfile)
    review: ReviewOptions = field(default_factory=ReviewOptions)
    llm: LLMOptions = field(default_factory=LLMOptions)
    llm_api_key: str = field(default="", repr=False)

    @property
    def llm_base_url(self) -> str:
        return self.llm.base_url

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_api_key or self.llm_base_url)
