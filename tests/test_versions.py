"""show_versions prints what a bug report needs."""

from __future__ import annotations

import orq_nb


def test_show_versions_names_python_and_every_package(capsys):
    orq_nb.show_versions()
    lines = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.strip().splitlines())
    assert lines["orq_nb"] == orq_nb.__version__
    assert lines["pandas"].split(".")[0].isdigit() and "python" in lines and "deltalake" in lines
