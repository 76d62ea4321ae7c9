"""The LLM path: an OpenAI-compatible client (`client`), its transport with
deadlines and retries (`transport`), the prompts read from `prompts/`
(`prompts`), the strict answer schema (`schema`), the merge with the offline
findings (`merge`) and the coaching follow-ups (`followup`).
"""

from bot.review.llm.client import LLMReviewer, endpoint_host, make_client

__all__ = ["LLMReviewer", "endpoint_host", "make_client"]
