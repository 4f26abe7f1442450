"""The glossary: the terms the issue asks for, short plain entries, links that resolve, a link
to it from every help icon, and the Glossary page under AppTest (?term=, search)."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from app_helpers import open_app
from streamlit.testing.v1 import AppTest

from nearid_core.settings import SETTINGS
from nearid_ui import compare_results, glossary, ident_texts, render, texts, widgets

ROOT = Path(__file__).resolve().parents[2]
PAGE_FILE = str(ROOT / "app_pages" / "glossary_page.py")
TIMEOUT = 60  # torch's import alone exceeds AppTest's 3 s default
REQUIRED = ("bi-lipschitz", "b-z", "l", "isometry", "leak", "signed-permutation", "rigid",
            "affine", "ica", "whitening", "mcc", "infom", "infoe", "infoc", "dci", "statistical",
            "structural", "alignment-error", "ica-efficiency", "theorem-1", "seed-pair")
LINK = re.compile(r"\[([^\]]+)\]\((Glossary\?[^)\s]*)\)")
ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "vs.", "cf.")
MAX_WORDS = 60

# Tooltips that say what a button or display setting does, not what a term means: they have
# no glossary entry by design.
ACTIONS = {
    "A self-contained interactive page": "chart download (render.chart)",
    "Settings, status, every model's metrics": "sweep download (render.sweep_downloads)",
    "Everything needed to recompute the numbers": "sweep download (render.sweep_downloads)",
    "No NPZ": "disabled sweep download (render.sweep_downloads)",
    "For a projector at": "presentation mode, a display setting",
    "Stops at the next progress step.": "the Compare job's cancel button",
    "Stops training within a second": "a sweep's cancel button (progress)",
    "Asks for a confirmation first.": "the delete button (manage)",
    "This sweep is ": "why delete is disabled (manage)",
    "Queue a new sweep with the same settings and name.": "train again (live)",
    "The store is read-only.": "why a button is disabled (live)",
    "Queued sweeps wait": "start a runner (live)",
    "Make a prediction first.": "the lesson's reveal toggle",
    render.READONLY: "why a button is disabled",
}
# Term tooltips in files this change does not edit; each should end with the see() shown.
NOT_OWNED: dict[str, str] = {}
EXEMPT = tuple(ACTIONS) + tuple(NOT_OWNED)
# Pages, and the link each opens with (result pages show the prepared sweep).
PAGES = [None, "app_pages/data_page.py", "app_pages/train_page.py",
         "app_pages/bilipschitz_page.py", "app_pages/identifiability_page.py",
         "app_pages/ica_page.py", "app_pages/paper_page.py", "app_pages/compare_page.py",
         "app_pages/glossary_page.py", "app_pages/playground_page.py",
         "app_pages/lesson_page.py"]
# Files whose help= arguments this change owns (checked in the source: some tooltips, like
# the Compare results' downloads, only appear after a comparison has run).
OWNED = ["app_pages/data_page.py", "app_pages/train_page.py", "app_pages/bilipschitz_page.py",
         "app_pages/ica_page.py", "app_pages/paper_page.py", "app_pages/glossary_page.py",
         "nearid_ui/widgets.py", "nearid_ui/params.py", "nearid_ui/home.py",
         *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "nearid_ui").glob("compare*.py"))]


def targets(text: str) -> list[str]:
    """The term ids of the glossary links in ``text``; fails on a link that does not resolve."""
    found = []
    for _, url in LINK.findall(text):
        parts = urlsplit(url)
        assert parts.path == glossary.PAGE and not parts.scheme and not parts.netloc, url
        terms = parse_qs(parts.query)[glossary.PARAM]
        assert len(terms) == 1 and terms[0] in glossary.TERMS, url
        found.append(terms[0])
    return found


def links_glossary(text: str) -> bool:
    return bool(targets(text))


def exempt(text: str) -> bool:
    return text.startswith(EXEMPT)


def sentences(text: str) -> int:
    for abbr in ABBREVIATIONS:
        text = text.replace(abbr, abbr.replace(".", ""))
    return len(re.findall(r"[.!?](?=\s|$)", text))


# ---------------------------------------------------------------- the entries

def test_every_term_of_the_issue_is_in_the_glossary():
    assert set(REQUIRED) <= set(glossary.TERMS), set(REQUIRED) - set(glossary.TERMS)


@pytest.mark.parametrize("term_id", list(glossary.TERMS))
def test_every_entry_is_one_or_two_plain_sentences(term_id):
    term = glossary.TERMS[term_id]
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", term_id)
    assert term.name and not set("[]") & set(term.name), term.name  # a link's label
    assert term.text.endswith("."), term.text
    assert 1 <= sentences(term.text) <= 2, term.text
    assert len(term.text.split()) <= MAX_WORDS, term.text
    assert "$" not in term.text  # Streamlit's markdown would start LaTeX


def test_entries_agree_with_the_help_texts():
    # The conventions of PAPER.md §3 that texts.py states, said the same way here.
    assert "slope 1 − α" in glossary.TERMS["leak"].text
    assert "α = 0 is the identity" in glossary.TERMS["leak"].text
    assert "α = 1 is ReLU" in glossary.TERMS["leak"].text
    assert "B(z) = max(σ₁, 1/σ_d)" in glossary.TERMS["b-z"].text
    assert "(perm − ICA) / (perm − rigid)" in glossary.TERMS["ica-efficiency"].text
    assert "max B(z) − 1" in glossary.TERMS["l"].text


# ---------------------------------------------------------------- links

def test_link_and_see_make_relative_links_to_existing_entries():
    assert glossary.link("b-z") == "[→ glossary: B(z)](Glossary?term=b-z)"
    assert glossary.link("ica", "FastICA") == "[FastICA](Glossary?term=ica)"
    text = glossary.see("b-z", "isometry")
    assert text.startswith(" See the glossary: ") and text.endswith(".")
    assert targets(text) == ["b-z", "isometry"]
    for term_id in glossary.TERMS:
        assert targets(glossary.link(term_id)) == [term_id]


@pytest.mark.parametrize("call", [lambda: glossary.link("nope"), lambda: glossary.url("nope"),
                                  lambda: glossary.see("b-z", "nope")])
def test_an_unknown_term_id_raises_key_error(call):
    with pytest.raises(KeyError, match="nope"):
        call()


def test_aliases_resolve_to_entries():
    assert glossary.resolve("Procrustes") == "rigid"
    assert glossary.resolve(" ICA ") == "ica"
    assert glossary.resolve("nope") is None
    assert set(glossary.ALIASES.values()) <= set(glossary.TERMS)


def test_the_glossary_page_is_registered_where_links_point():
    assert f'url_path="{glossary.PAGE}"' in (ROOT / "app.py").read_text()


def test_texts_import_the_glossary_without_streamlit():
    code = ("import sys; import nearid_ui.glossary, nearid_ui.texts, nearid_ui.ident_texts; "
            "assert 'streamlit' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


# ---------------------------------------------------------------- help texts link to it

def _constants(module) -> dict[str, str]:
    return {k: v for k, v in vars(module).items()
            if k.isupper() and not k.startswith("_") and isinstance(v, str)}


def test_every_help_text_constant_links_to_the_glossary():
    shown = {**_constants(texts), **{f"ident_texts.{k}": v
                                      for k, v in _constants(ident_texts).items()}}
    shown.update({name: getattr(texts, name) for name in texts._LAZY})
    shown.update({f"COLUMNS[{k!r}]": v for k, v in texts.COLUMNS.items() if k != "source"})
    shown.update({f"compare HELP[{k!r}]": v for k, v in compare_results.HELP.items()})
    del shown["ESTIMATED"]  # the sidebar's caption, never a tooltip
    missing = [name for name, text in shown.items() if not links_glossary(text)]
    assert not missing


def test_every_setting_help_links_to_its_entries():
    assert {s.name for s in SETTINGS} <= set(widgets.SETTING_TERMS)
    for s in SETTINGS:
        assert targets(widgets._help(s)) == list(widgets.SETTING_TERMS[s.name]), s.name


def _help_source_ok(node: ast.expr, source: str) -> bool:
    seg = ast.get_source_segment(source, node) or ""
    if isinstance(node, ast.Constant):
        return node.value is None or exempt(str(node.value))
    if any(s in seg for s in ("see(", "link(", "texts.", "READONLY")):
        return True  # the constants themselves are checked above
    return seg in ("help", "helps[name]", "HELP.get(c)") or seg.startswith("_help(")


@pytest.mark.parametrize("path", OWNED)
def test_every_help_argument_in_the_owned_files_links_to_the_glossary(path):
    source = (ROOT / path).read_text()
    bad = [ast.get_source_segment(source, kw.value)
           for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
           for kw in node.keywords if kw.arg == "help" and not _help_source_ok(kw.value, source)]
    assert not bad


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def tooltips(at: AppTest) -> list[tuple[str, str]]:
    """(what, help) of every widget, metric and table column drawn."""
    out = []
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        fields = {f.name for f in proto.DESCRIPTOR.fields} if proto is not None else set()
        if "help" in fields and proto.help:
            out.append((getattr(proto, "label", "") or type(proto).__name__, proto.help))
        if type(proto).__name__ == "Dataframe" and proto.columns:
            out += [(f"column {col}", cfg["help"]) for col, cfg in
                    json.loads(proto.columns).items() if isinstance(cfg, dict) and cfg.get("help")]
    return out


# Pages that queue their own sweeps on a first visit (the Playground's grid, the lesson's):
# they run on a copy of the prepared store, which other tests share.
QUEUES = {"app_pages/playground_page.py", "app_pages/lesson_page.py"}


@pytest.mark.parametrize("page", PAGES)
def test_every_help_icon_on_every_page_links_to_the_glossary(page, prepared, use_home,
                                                             tmp_path):
    if page in QUEUES:
        shutil.copytree(prepared.home, tmp_path / "store")
        use_home(tmp_path / "store")
    else:
        use_home(prepared.home)
    at = open_app(page, {"sweep": prepared.tiny})
    assert not at.exception, [e.value for e in at.exception]
    tips = tooltips(at)
    assert tips or page == "app_pages/glossary_page.py"
    columns_without = {"column source"}  # reported in the paper or computed: no term
    bad = [(what, text[:60]) for what, text in tips
           if what not in columns_without and not exempt(text) and not links_glossary(text)]
    assert not bad


# ---------------------------------------------------------------- the Glossary page

def open_glossary(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(PAGE_FILE, default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def headings(at: AppTest) -> list[str]:
    return [h.proto.anchor for h in at.subheader]


@pytest.fixture
def empty_store(tmp_path, use_home):
    return use_home(tmp_path)


def test_the_page_shows_every_term_in_order(empty_store):
    at = open_glossary()
    assert at.title[0].value == "Glossary"
    assert headings(at) == list(glossary.TERMS)
    assert [h.value for h in at.subheader] == [t.name for t in glossary.TERMS.values()]
    assert glossary.TERMS["ica"].text in [m.value for m in at.markdown]
    assert not at.info and not at.warning
    index = " ".join(c.value for c in at.caption)
    assert all(f"(#{t})" in index for t in glossary.TERMS)


def test_a_term_link_puts_its_entry_first_in_an_info_box(empty_store):
    at = open_glossary({"term": "ica"})
    assert headings(at)[0] == "ica" and at.subheader[0].value == glossary.TERMS["ica"].name
    assert [i.value for i in at.info] == [glossary.TERMS["ica"].text]
    assert sorted(headings(at)) == sorted(glossary.TERMS)  # shown once, the rest follow
    assert at.query_params["term"] == "ica"


def test_an_alias_link_opens_its_entry(empty_store):
    at = open_glossary({"term": "Procrustes"})
    assert headings(at)[0] == "rigid"
    assert at.info[0].value == glossary.TERMS["rigid"].text


def test_an_unknown_term_is_named_and_the_full_list_shown(empty_store):
    at = open_glossary({"term": "nope"})
    assert len(at.warning) == 1 and "nope" in at.warning[0].value
    assert headings(at) == list(glossary.TERMS)
    assert not at.info


def test_the_search_filters_by_name_and_text(empty_store):
    at = open_glossary()
    at.text_input(key="glossary_search").set_value("whitening").run()
    shown = headings(at)
    assert "whitening" in shown and "mcc" not in shown
    assert shown == [t for t in glossary.TERMS if glossary.matches(t, "whitening")]
    assert all("whiten" in f"{glossary.TERMS[t].name} {glossary.TERMS[t].text}".lower()
               for t in shown)
    at.text_input(key="glossary_search").set_value("rigid procrustes").run()
    assert headings(at)[0] == "rigid" and "mcc" not in headings(at)
    at.text_input(key="glossary_search").set_value("zzzz").run()
    assert not headings(at) and "No term mentions" in at.info[0].value


def test_the_search_keeps_the_linked_entry_first(empty_store):
    at = open_glossary({"term": "ica"})
    at.text_input(key="glossary_search").set_value("MCC").run()
    shown = headings(at)
    assert shown[0] == "ica" and "mcc" in shown and "whitening" not in shown
