"""The public face: a small entrance, errors in one module, signatures a notebook can show."""

from __future__ import annotations

import inspect
import subprocess
import sys
import warnings

import pytest

import orq_nb

VERBS = {"compare_cohorts", "compare_tags", "cost_breakdown", "cost_by_tag", "daily_summary",
         "explain_change", "explode_tags", "explore", "filter_sessions", "load_sample", "plot_change",
         "plot_comparison",
         "plot_duration_vs_cost", "plot_spend", "read_sessions", "reconcile", "select_box", "select_lasso",
         "sessions_frame", "show_versions", "spans_frame", "spend_anomalies", "spend_forecast", "tag_counts",
         "top_anomalies", "traces_frame"}
CLASSES = {"OrqClient", "SessionStore", "SessionExplorer", "OrqError", "OrqWarning"}
#: The analysis functions: each takes a pandas frame, a Dask frame or a store as its first argument.
ANALYSIS = ["compare_cohorts", "compare_tags", "cost_breakdown", "cost_by_tag", "daily_summary",
            "explain_change", "explode_tags", "filter_sessions", "reconcile", "select_box", "select_lasso",
            "spend_anomalies", "spend_forecast", "tag_counts", "plot_duration_vs_cost"]


def test_the_top_level_exports_the_verbs_and_five_classes_only():
    assert set(orq_nb.__all__) == VERBS | CLASSES
    assert all(callable(getattr(orq_nb, name)) for name in orq_nb.__all__)


def test_every_exception_and_warning_lives_in_orq_nb_errors():
    import orq_nb.errors as errors

    defined = {name for name, obj in vars(errors).items()
               if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == "orq_nb.errors"}
    assert defined == {n for n in errors.__all__ if isinstance(getattr(errors, n), type)
                       and issubclass(getattr(errors, n), Exception)}
    for name in defined - {"OrqError", "OrqWarning"}:
        cls = getattr(errors, name)
        assert issubclass(cls, orq_nb.OrqError | orq_nb.OrqWarning), name
    # Nothing in the package defines an exception or warning elsewhere.
    import pkgutil

    for info in pkgutil.walk_packages(orq_nb.__path__, "orq_nb."):
        if info.name.startswith("orq_nb.testing"):
            continue
        module = __import__(info.name, fromlist=["_"])
        own = [n for n, o in vars(module).items()
               if isinstance(o, type) and issubclass(o, Warning | Exception) and o.__module__ == info.name
               and not n.startswith("_")]  # a private one is control flow inside a module, never raised out
        assert info.name == "orq_nb.errors" or not own, f"{info.name} defines {own}"


@pytest.mark.parametrize("name, home", sorted(orq_nb.MOVED.items()))
def test_a_name_that_left_the_top_level_still_works_and_warns_its_new_home(name, home):
    with pytest.warns(FutureWarning, match=rf"orq_nb\.{name} moved to {home}\.{name}"):
        old = getattr(orq_nb, name)
    assert old is getattr(__import__(home, fromlist=["_"]), name)


def test_an_unknown_name_is_an_attribute_error_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
            orq_nb.nothing_here  # noqa: B018


def test_import_orq_nb_loads_neither_deltalake_nor_dask():
    code = ("import sys, orq_nb; print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'deltalake', 'dask', 'distributed'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _signatures():
    yield "OrqClient.query_sessions", orq_nb.OrqClient.query_sessions
    yield "OrqClient.count_sessions", orq_nb.OrqClient.count_sessions
    yield "OrqClient.iter_sessions", orq_nb.OrqClient.iter_sessions
    yield "SessionStore.sync", orq_nb.SessionStore.sync
    yield "SessionExplorer", orq_nb.SessionExplorer.__init__
    yield "SessionExplorer.compare", orq_nb.SessionExplorer.compare
    for method in ("query_traces", "query_spans", "conversation", "report", "to_dataset", "datasets"):
        yield f"OrqClient.{method}", getattr(orq_nb.OrqClient, method)
    for name in sorted(VERBS):
        yield name, getattr(orq_nb, name)


@pytest.mark.parametrize("name, function", list(_signatures()), ids=[n for n, _ in _signatures()])
def test_no_public_signature_hides_parameters(name, function):
    kinds = [p.kind for p in inspect.signature(function).parameters.values()]
    assert inspect.Parameter.VAR_KEYWORD not in kinds and inspect.Parameter.VAR_POSITIONAL not in kinds


@pytest.mark.parametrize("name", ANALYSIS)
def test_analysis_functions_take_the_data_then_keywords_only(name):
    params = list(inspect.signature(getattr(orq_nb, name)).parameters.values())
    assert params[0].name == "df"
    positional = [p.name for p in params[1:] if p.kind is not p.KEYWORD_ONLY]
    # compare_cohorts' cohorts (a, b) and compare_tags' tags are the question itself, not options.
    # explain_change's cohorts and reconcile's report likewise.
    questions = {"compare_cohorts": ["a", "b"], "compare_tags": ["tags"],
                 "explain_change": ["before", "after"], "reconcile": ["report"]}
    assert positional == questions.get(name, []), positional


CALLS = {
    "compare_cohorts": lambda f, d: f(d, "rag", random_state=0, method="welch"),
    "compare_tags": lambda f, d: f(d, ["rag", "voice"], random_state=0, method="welch"),
    "cost_breakdown": lambda f, d: f(d, by="tag"),
    "cost_by_tag": lambda f, d: f(d),
    "explain_change": lambda f, d: f(d, {"end": "2026-10-01"}, {"start": "2026-10-01"}, by="project_id"),
    "daily_summary": lambda f, d: f(d, start="2026-10-01"),
    "explode_tags": lambda f, d: f(d).reset_index(drop=True),
    "filter_sessions": lambda f, d: f(d, tags="rag").reset_index(drop=True),
    "select_box": lambda f, d: f(d, duration=(10, 100), cost=(0.01, 0.1)).reset_index(drop=True),
    "select_lasso": lambda f, d: f(d, polygon=[(1, 0.01), (100, 0.01), (100, 1)]).reset_index(drop=True),
    "spend_anomalies": lambda f, d: f(d, by="tag"),
    "spend_forecast": lambda f, d: f(d, by="tag", as_of="2026-10-20"),
    "tag_counts": lambda f, d: f(d),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    pytest.importorskip("deltalake", reason="the test extra installs deltalake")
    store = orq_nb.SessionStore(tmp_path_factory.mktemp("api") / "s.delta")
    store.write(orq_nb.load_sample().iloc[:1500])
    return store


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_analysis_function_takes_a_store_and_answers_as_for_its_frame(name, store):
    import pandas as pd

    function = getattr(orq_nb, name)
    got, want = CALLS[name](function, store), CALLS[name](function, store.to_pandas())
    if isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want)
    else:
        pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)


def test_one_spelling_per_concept():
    every = {p for _, f in _signatures() for p in inspect.signature(f).parameters}
    assert not every & {"logx", "logy", "interval_width", "kwargs", "options"}
    assert "confidence" in inspect.signature(orq_nb.spend_forecast).parameters
    assert {"log_x", "log_y"} <= set(inspect.signature(orq_nb.plot_duration_vs_cost).parameters)


def test_compare_tags_and_explorer_show_compare_cohorts_options_with_their_defaults():
    want = {n: p.default for n, p in inspect.signature(orq_nb.compare_cohorts).parameters.items()
            if n not in ("df", "a", "b", "metrics")}
    for function in (orq_nb.compare_tags, orq_nb.SessionExplorer.compare):
        got = {n: p.default for n, p in inspect.signature(function).parameters.items() if n in want}
        assert set(got) == set(want)
        assert {n: v for n, v in got.items() if n != "random_state"} == {
            n: v for n, v in want.items() if n != "random_state"}
    with pytest.raises(TypeError, match="unexpected keyword argument 'tagz'"):
        orq_nb.OrqClient.count_sessions(object(), tagz=["x"])


@pytest.mark.parametrize("module", ["orq_nb", "orq_nb.errors", "orq_nb.schemas", "orq_nb.types",
                                    "orq_nb.testing"])
def test_the_api_page_can_describe_every_public_name(module):
    """The manual's API page documents each name from its own docstring, or a constant from the ``#:``
    comment above it in its public module (never "Built-in immutable sequence.")."""
    import importlib

    mod = importlib.import_module(module)
    source = inspect.getsource(mod)
    for name in mod.__all__:
        obj = getattr(mod, name)
        if callable(obj):
            assert obj.__doc__ and obj.__doc__ is not type(obj).__doc__, f"{module}.{name} has no docstring"
        else:
            above = source.split(f"\n{name}")[0].rsplit("\n\n", 1)[-1]
            assert "#: " in above, f"{module}.{name} is undescribed"
