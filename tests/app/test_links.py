"""Links: the Train page opens at what its URL says, keeps the URL, and warns, at the top
of the page, about every parameter it cannot use; its widgets offer the limits of
``nearid_core.settings`` (the command line's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nearid_core.settings import BY_NAME, SETTINGS, applies

ROOT = Path(__file__).resolve().parents[2]
TRAIN = str(ROOT / "app_pages" / "train_page.py")
TIMEOUT = 60  # torch's import alone exceeds AppTest's 3 s default
NUMBERS = [s for s in SETTINGS if s.kind in ("int", "real")]


def open_train(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(TRAIN, default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


def _walk(node, ancestors=()):
    yield node, ancestors
    for child in getattr(node, "children", {}).values():
        yield from _walk(child, (*ancestors, node))


@pytest.fixture(autouse=True)
def empty_store(tmp_path, use_home):
    return use_home(tmp_path)


def test_a_single_leak_link_opens_at_its_leak_and_keeps_the_url():
    at = open_train({"leakmode": "single leak", "leak": "0.3"})
    assert at.slider(key="leak").value == pytest.approx(0.3)
    assert at.query_params["leak"] == "0.3" and at.query_params["leakmode"] == "single leak"
    assert not warnings(at)
    assert "1 leak(s)" in " ".join(c.value for c in at.caption)


def test_a_range_link_keeps_its_ends_and_count():
    at = open_train({"leakmode": "range of leaks", "leaks": "0.2,0.6", "nleaks": "3"})
    assert at.slider(key="leaks").value == pytest.approx((0.2, 0.6))
    assert at.number_input(key="nleaks").value == 3
    assert (at.query_params["leaks"], at.query_params["nleaks"]) == ("0.2,0.6", "3")
    assert "3 leak(s)" in " ".join(c.value for c in at.caption)


def test_a_list_link_trains_exactly_its_leaks():
    at = open_train({"leakmode": "list of leaks", "leaklist": "0,0.33,0.9"})
    assert at.text_input(key="leaklist").value == "0,0.33,0.9"
    assert "3 leak(s)" in " ".join(c.value for c in at.caption)
    at = open_train({"leakmode": "list of leaks", "leaklist": "0,0"})
    assert warnings(at) == ["Ignored `leaklist=0,0` from the link: wants distinct leaks in "
                            "[0, 1] separated by commas, like 0,0.5,0.95 (0 is given twice)"]


@pytest.mark.parametrize(("query", "key"), [
    ({"leakmode": "single leak", "leak": "1.5"}, "leak"),
    ({"leakmode": "single leak", "leak": "abc"}, "leak"),
    ({"leakmode": "single leak", "leak": "nan"}, "leak"),
    ({"leakmode": "range of leaks", "leaks": "0.6,0.2"}, "leaks"),
    ({"leakmode": "range of leaks", "leaks": "0.2"}, "leaks"),
    ({"leakmode": "range of leaks", "leaks": "0.2,0.6", "nleaks": "40"}, "nleaks"),
])
def test_a_bad_leak_in_a_link_gets_the_warning_every_parameter_gets(query, key):
    at = open_train(query)
    assert len(warnings(at)) == 1
    assert warnings(at)[0].startswith(f"Ignored `{key}={query[key]}` from the link: ")


def test_link_warnings_are_at_the_top_of_the_page_not_in_a_collapsed_expander():
    # d_u is drawn inside the collapsed "Data" expander; lr inside "Optimisation".
    at = open_train({"d_u": "99", "lr": "0", "leakmode": "single leak", "leak": "7"})
    assert len(warnings(at)) == 3
    order = list(_walk(at.main))
    title = next(i for i, (n, _) in enumerate(order) if getattr(n, "type", "") == "title")
    shown = [(i, n, a) for i, (n, a) in enumerate(order) if getattr(n, "type", "") == "warning"]
    assert len(shown) == 3
    for i, node, ancestors in shown:
        assert i < title, f"a link warning below the title: {node.value}"
        assert not any(getattr(a, "type", "") == "expander" for a in ancestors)


def test_a_long_bad_value_is_shortened_in_the_warning():
    at = open_train({"n": "9" * 5000})
    assert len(warnings(at)) == 1 and len(warnings(at)[0]) < 300
    assert "(5,000 characters)" in warnings(at)[0]


# ---------------------------------------------------------------- the same limits


@pytest.mark.parametrize("kind", ["rolled", "linear", "square", "mlp"])
def test_the_widgets_offer_the_settings_limits(kind):
    at = open_train({"kind": kind})
    for s in NUMBERS:
        if not applies(s, kind):
            assert not [w for w in at.number_input if w.key == s.url]
            continue
        w = at.number_input(key=s.url)
        assert (w.min, w.max) == (s.lo, s.hi), s.name


def _text(s, value: float) -> str:
    return str(int(value)) if s.kind == "int" else repr(float(value))


def _just_outside(s) -> tuple[str, str]:
    """(below, above) texts that the command line refuses."""
    step = 1 if s.kind == "int" else 0.01
    return _text(s, s.lo if s.lo_open else s.lo - step), _text(s, s.hi + step)


@pytest.mark.parametrize("kind", ["rolled", "square", "mlp"])
@pytest.mark.parametrize("part", ["data", "rest"])
def test_links_accept_and_refuse_the_same_boundaries_as_the_command_line(kind, part):
    # Data and the other settings in separate links: the Train page draws the training
    # widgets only below valid data settings.
    shown = [s for s in NUMBERS if applies(s, kind) and (s.part == "data") == (part == "data")]
    for end in ("lo", "hi"):  # every limit itself is accepted (an open one is refused)
        query = {s.url: _text(s, getattr(s, end)) for s in shown
                 if not (end == "lo" and s.lo_open)}
        at = open_train({"kind": kind, **query})
        assert not warnings(at), (end, warnings(at))
        for s in shown:
            if s.url in query:
                assert at.number_input(key=s.url).value == pytest.approx(getattr(s, end))
    for side in (0, 1):  # one step outside, each refused with its own warning
        query = {s.url: _just_outside(s)[side] for s in shown}
        at = open_train({"kind": kind, **query})
        named = sorted(w.split("`")[1].split("=")[0] for w in warnings(at))
        assert named == sorted(query), side


def test_seeds_go_up_to_64_in_the_app_as_on_the_command_line():
    at = open_train({"seeds": "64", "leakmode": "single leak"})
    assert at.number_input(key="seeds").value == 64 and not warnings(at)
    assert "64 models" in " ".join(c.value for c in at.caption)


def test_the_widget_path_refuses_an_open_limit_like_the_command_line():
    at = open_train({})
    at.number_input(key="lr").set_value(0.0).run()
    assert "TrainConfig.lr must be a finite number > 0.0" in " ".join(e.value for e in at.error)


def test_an_empty_data_seed_follows_the_master_seed(empty_store):
    at = open_train({"seed": "5", "leakmode": "single leak", "epochs": "1"})
    assert at.number_input(key="data_seed").value is None
    assert BY_NAME["data_seed"].url not in at.query_params
    assert at.query_params["seed"] == "5"
    next(b for b in at.button if b.label == "Train").click().run()
    (sweep,) = empty_store.list_sweeps()
    assert sweep["config"]["seed"] == 5 and sweep["config"]["data"]["seed"] == 5
