"""The README's code runs as written."""
import os
import re

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def test_readme_taste_snippet_runs(tmp_path, monkeypatch):
    text = open(README, encoding="utf-8").read()
    code = re.search(r"## A taste\n\n```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert (tmp_path / "curves.png").exists()


def test_readme_commands_match_ci_script():
    text = open(README, encoding="utf-8").read()
    ci = open(os.path.join(os.path.dirname(README), ".ci", "run"), encoding="utf-8").read()
    test_cmd = re.search(r"# 2\. .*\n(.*)\n", text).group(1).strip()
    assert test_cmd in ci
