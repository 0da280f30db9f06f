"""Sphinx configuration: the orq_nb manual (user guide, design notes, API reference, example notebooks).

``make docs`` builds it with warnings as errors. The example notebooks are copied from ``notebooks/``
and executed at build on the bundled sample and the fake server: nothing is fetched from outside.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ["ORQ_NB_OFFLINE"] = "1"  # the notebooks run on the sample and the fake server, never a real key
os.environ.pop("ORQ_API_KEY", None)

import orq_nb  # noqa: E402

# The example notebooks, as pages: copied fresh at each build (docs/examples is not kept in git).
EXAMPLES = HERE / "examples"
shutil.rmtree(EXAMPLES, ignore_errors=True)
EXAMPLES.mkdir()
for notebook in sorted((HERE.parent / "notebooks").glob("[0-9]*.ipynb")):
    # The test harness's markers (# NBVAL_IGNORE_OUTPUT ...) are for nbval, not for readers: dropped.
    cells = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in cells["cells"]:
        if cell["cell_type"] == "code":
            cell["source"] = [line for line in cell["source"] if not line.lstrip().startswith("# NBVAL_")]
    (EXAMPLES / notebook.name).write_text(json.dumps(cells, indent=1, ensure_ascii=False), encoding="utf-8")

project = "orq_nb"
author = "the orq_nb developers"
copyright = "2026, the orq_nb developers"  # noqa: A001 - Sphinx's name
release = version = orq_nb.__version__

extensions = [
    "myst_nb",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "jupyter_execute"]
html_theme = "pydata_sphinx_theme"
html_title = f"orq_nb {release}"
html_static_path = ["_static"]
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2,
                      # the top bar: the guide's first pages, the rest under "More", on one line at 1400 px
                      "header_links_before_dropdown": 4}
# No left sidebar: every page is a top-level entry, so its "Section Navigation" would be empty; the top
# bar and the page's own contents (right) are the navigation.
html_sidebars = {"**": []}
html_css_files = ["orq_nb.css"]

autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's parameter lists say the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# Notebooks and markdown pages with code cells run at build, in a temporary folder.
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_in_temp = True
nb_merge_streams = True
# Widgets are live only with a kernel: a page shows their text, and loads no widget script from a CDN.
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("html", "application/vnd.jupyter.widget-state+json", None),
    ("html", "application/vnd.plotly.v1+json", None),
]
myst_enable_extensions = ["colon_fence"]


# A guide page executed at build keeps its kernel's widget state (the explorer's: megabytes of itables and
# plotly.js), which myst-nb would embed in the page's head, where it stopped the browser from showing the
# page at all. Widgets run only with a kernel, so a page gets no state; docs/check_outputs.py checks it.
def _without_widget_state(render):
    def render_nb_finalise(self, metadata: dict) -> None:
        return render(self, {key: value for key, value in metadata.items() if key != "widgets"})

    return render_nb_finalise


from myst_nb.core.render import NbElementRenderer  # noqa: E402

NbElementRenderer.render_nb_finalise = _without_widget_state(NbElementRenderer.render_nb_finalise)

# The API reference lists every public name (orq_nb.__all__, then the public modules' __all__), grouped by
# the layer that defines it, so that it cannot drift from the package: written here at each build
# (docs/api.rst is not kept in git). A constant gets its text from its module's ``#:`` comment.
_LAYERS = {"load": "Loading and validating", "analysis": "Analysis", "api": "The orq.ai client",
           "store": "The session store", "explore": "Plots and widgets", "versions": "Bug reports"}
_MODULES = {"orq_nb.errors": "Errors and warnings: ``orq_nb.errors``",
            "orq_nb.schemas": "Schemas, columns and dtypes: ``orq_nb.schemas``",
            "orq_nb.types": "Classes handed out: ``orq_nb.types``",
            "orq_nb.testing": "Testing offline: ``orq_nb.testing``"}


def _section(title: str, module: str, names: list[str]) -> list[str]:
    lines = [title, "-" * len(title), "", f".. currentmodule:: {module}", ""]
    import importlib

    objects = importlib.import_module(module)
    documented = [n for n in names if callable(getattr(objects, n))]
    constants = [n for n in names if n not in documented]
    if documented:
        lines += [".. autosummary::", "   :toctree: generated", ""] + [f"   {n}" for n in documented] + [""]
    for name in constants:
        lines += [f".. autodata:: {module}.{name}", "   :no-value:", ""]
    return lines


def _api_page() -> str:
    groups: dict[str, list[str]] = {key: [] for key in _LAYERS}
    for name in sorted(orq_nb.__all__, key=str.lower):
        obj = getattr(orq_nb, name)
        module = getattr(obj, "__module__", "orq_nb.load") or "orq_nb.load"
        layer = module.split(".")[1] if module.count(".") else "load"
        groups.setdefault(layer, []).append(name)
    lines = ["API reference", "=============", "",
             "Everything ``orq_nb`` exports, and the public modules ``orq_nb.errors``, ``orq_nb.schemas``, "
             "``orq_nb.types`` and ``orq_nb.testing``; nothing else is public (the layers' module paths may "
             "change in any release).", ""]
    for layer, names in groups.items():
        if names:
            lines += _section(_LAYERS.get(layer, layer), "orq_nb", names)
    import importlib

    for module, title in _MODULES.items():
        lines += _section(title, module, list(importlib.import_module(module).__all__))
    return "\n".join(lines)


shutil.rmtree(HERE / "generated", ignore_errors=True)  # pages of names no longer public go too
(HERE / "api.rst").write_text(_api_page(), encoding="utf-8")
