"""Text as it arrives: copy-paste and social-media "fonts" must not hide a risk.

A deletion demand whose verb is broken by invisible characters, written in
full-width or mathematical letters, or with Cyrillic look-alikes, is still a
deletion demand, and its finding still points at the exact words of the draft.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.review import text
from bot.review.models import ReviewRequest
from bot.review.offline import review_offline
from bot.review.text import fold

FRENCH = "Merci de {verb} la photo et de nous écrire en privé."
ENGLISH = "Please {verb} the photo and DM us."


def _alphabet(small_a: int, exceptions: dict[str, str] | None = None) -> Callable[[str], str]:
    """Lower-case ASCII letters written in a block of mathematical alphanumerics."""
    exceptions = exceptions or {}

    def write(word: str) -> str:
        return "".join(exceptions.get(c, chr(small_a + ord(c) - ord("a"))) for c in word)

    return write


def _inside(mark: str) -> Callable[[str], str]:
    """The mark between every two letters of the word: « s\u00adu\u00adp… »."""
    return lambda word: mark.join(word)


_CYRILLIC = str.maketrans("aeopcxyisdjh", "аеорсхуіѕԁјһ")

DISGUISES: dict[str, Callable[[str], str]] = {
    "soft hyphens": _inside("\u00ad"),
    "zero-width spaces": _inside("\u200b"),
    "zero-width joiners and word joiners": lambda w: w[:2] + "\u200d\u2060" + w[2:4] + "\ufeff" + w[4:],
    "bidi override": lambda w: w[:2] + "\u202e" + w[2:4] + "\u202c" + w[4:],
    "bidi isolate and marks": lambda w: w[:3] + "\u2067\u200f" + w[3:5] + "\u2069\u200e" + w[5:],
    "Cyrillic look-alikes": lambda w: w.translate(_CYRILLIC),
    "full-width letters": lambda w: "".join(chr(ord(c) + 0xFEE0) for c in w.upper()),
    "mathematical bold": _alphabet(0x1D41A),
    "mathematical italic": _alphabet(0x1D44E, {"h": "\u210e"}),
    "mathematical bold italic": _alphabet(0x1D482),
    "mathematical sans-serif": _alphabet(0x1D5BA),
    "mathematical sans-serif bold": _alphabet(0x1D5EE),
    "mathematical monospace": _alphabet(0x1D68A),
    "mathematical double-struck": _alphabet(0x1D552),
}


def review(draft: str):
    return review_offline(ReviewRequest(draft), rewrite=False)


@pytest.mark.parametrize("disguise", DISGUISES, ids=list(DISGUISES))
@pytest.mark.parametrize(("template", "verb"), [(FRENCH, "supprimer"), (ENGLISH, "delete")],
                         ids=["fr", "en"])
def test_a_disguised_deletion_demand_is_still_caught(template: str, verb: str, disguise: str) -> None:
    disguised = DISGUISES[disguise](verb)
    assert disguised != verb and verb not in disguised  # the disguise really hides the verb
    draft = template.format(verb=disguised)
    verb_start = draft.index(disguised)
    verb_end = verb_start + len(disguised)

    r = review(draft)

    assert r.verdict != "post"
    demands = [f for f in r.findings if f.category == "deletion_demand"]
    assert demands, f"no deletion demand found in {draft!r}"
    span = demands[0].span
    assert span is not None
    assert draft[span.start:span.end] == span.text
    assert span.start <= verb_start and verb_end <= span.end


@pytest.mark.parametrize("draft", [
    "Please ԁеӏете the photo and DM us.",  # every letter of the verb Cyrillic (т, ӏ included)
    "Please \u202edelete\u202c the photo and DM us.",  # the verb wrapped in a bidi override
    "ＰＬＥＡＳＥ ＤＥＬＥＴＥ ＴＨＥ ＰＨＯＴＯ ＡＮＤ ＤＭ ＵＳ.",
    "Merci de 𝘀𝘂𝗽𝗽𝗿𝗶𝗺𝗲𝗿 la photo et de nous écrire en privé.",
])
def test_other_disguises_of_the_whole_verb(draft: str) -> None:
    r = review(draft)
    assert r.verdict != "post"
    finding = next(f for f in r.findings if f.category == "deletion_demand")
    assert finding.span is not None
    assert draft[finding.span.start:finding.span.end] == finding.span.text


def test_fold_undoes_each_disguise() -> None:
    for name, disguise in DISGUISES.items():
        assert fold(disguise("delete")).text == "delete", name
        assert fold(disguise("supprimer")).text == "supprimer", name


@pytest.mark.parametrize("sentence", [
    "Привет, как дела?",
    "Спасибо, всё хорошо, но сейчас нет времени.",
    "Ο καφές είναι καλός.",
    "Σας ευχαριστούμε πολύ για το μήνυμα.",
])
def test_a_genuine_cyrillic_or_greek_sentence_keeps_its_script(sentence: str) -> None:
    folded = fold(sentence).text
    letters = [c for c in folded if c.isalpha()]
    assert letters
    assert not any(c.isascii() for c in letters), folded
    # The usual folding (lower case, accents off) and nothing else: no letter turned Latin.
    plain = unicodedata.normalize("NFKD", " ".join(sentence.split()))
    assert folded == "".join(c for c in plain if not unicodedata.combining(c)).casefold()


def test_look_alikes_are_read_as_latin_only_in_latin_words() -> None:
    # « но » (but) is Cyrillic in a Russian sentence, and stays so beside an English one.
    assert fold("Спасибо, но нет.").text == "спасибо, но нет."
    # A word with a Latin letter: its look-alikes are Latin.
    assert fold("rеmоvе").text == "remove"
    # A word of look-alikes only, in a Latin draft: Latin; in a Cyrillic draft: not.
    assert fold("Please ѕсаре this").text == "please scape this"
    assert fold("Это ѕсаре").text == "это ѕсаре"
    # A bare stroke is « I » among capitals, « l » among small letters.
    assert fold("ΙNFO").text == "info"
    assert fold("ԁеӏеtе").text == "delete"


def test_every_look_alike_reaches_the_look_alike_pass() -> None:
    """The cheap pre-check of `_fold_slow` lets through every letter that Unicode's
    table (or one of its accented, letterlike or mathematical forms) reads as Latin."""
    table = text._look_alike_table()
    assert {"а", "е", "о", "р", "с", "х", "у", "і", "ԁ", "ο", "α", "ν"} <= set(table)
    for code in range(0x80, 0x20000):
        ch = chr(code)
        if 0xD800 <= code < 0xE000:
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base in table:
            assert text._MAY_LOOK_ALIKE.search(ch), f"U+{code:04X}"
            assert text._SLOW_CHARACTER.search(ch), f"U+{code:04X}"


def test_invisible_characters_vanish() -> None:
    for code in (0x00AD, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D,
                 0x202E, 0x2060, 0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF, 0x180E, 0xE0041, 0xFE0F):
        ch = chr(code)
        assert fold(f"de{ch}lete").text == "delete", f"U+{code:04X}"
    assert all(unicodedata.category(chr(c)) != "Cf" for c in map(ord, fold("a\u2061b\u206fc").text))


def test_plain_latin_text_keeps_the_fast_path() -> None:
    folded = fold("Nous sommes désolés pour ce retard, l’équipe revient vers vous 🙏")
    assert isinstance(folded.origin, range)


def _same_as_slow(draft: str) -> None:
    folded, slow = fold(draft), text._fold_slow(draft)
    assert (folded.text, list(folded.origin)) == (slow.text, list(slow.origin)), repr(draft)


def test_the_fast_paths_fold_each_character_as_the_slow_one() -> None:
    """The translation table and the dropping of spaces (the fast paths) against
    `_fold_slow`, folded text and origins, for every character of the Basic Multilingual
    Plane and the emoji, alone, between letters and beside spaces and line breaks."""
    for code in (*range(0xD800), *range(0xE000, 0x10000), *range(0x1F300, 0x1FB00)):
        ch = chr(code)
        for draft in (f"Ab{ch}é z", f"{ch}x", f"a {ch} b", f"é\n{ch}\n", f"a{ch}  b"):
            _same_as_slow(draft)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab É é\n\t\r\x0b\x1c\x85\xa0\u2003\u2028¨¯˘’ĳ¼\xadœ🙏")), max_size=40))
def test_fold_drops_the_spaces_the_slow_path_drops(draft: str) -> None:
    _same_as_slow(draft)


_MIXED = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("aeiou dlt'’«»\n\t.,!?")),
        st.sampled_from(list("\u00ad\u200b\u200d\u200e\u202e\u202c\u2066\u2069\ufeff\ufe0f\u0301")),
        st.sampled_from(list("аеорсхуіԁѕӏтпвдΙοανεκ")),
        st.sampled_from(list("ＳＵＰｐｒｉ𝐝𝐞𝒍𝖾𝚝𝕖ℎﬁœßİ🙏❤🇫")),
        st.characters(codec="utf-8"),
    ),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(_MIXED)
def test_every_folded_character_points_into_the_draft(text: str) -> None:
    folded = fold(text)
    origin = list(folded.origin)
    assert len(origin) == len(folded.text)
    assert all(0 <= i < len(text) for i in origin)
    assert origin == sorted(origin)
    for start in range(len(folded.text)):
        for end in range(start, min(len(folded.text), start + 8) + 1):
            a, b = folded.span(start, end)
            assert 0 <= a <= b <= len(text)
            if end > start:
                assert text[a:b]  # a match always maps to some of the draft's own text
