"""The command layer stays pure: stdlib, PyYAML and itself; no Slack, HTTP or SQL."""

import ast
import sys
from pathlib import Path

import pytest

import commands

PACKAGE = Path(commands.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
FORBIDDEN = {"slack_sdk", "slack_bolt", "requests", "sqlite3", "sqlite_utils"}
ALLOWED_THIRD_PARTY = {"yaml"}


def imported_roots(path):
    """Top-level names of every module ``path`` imports, anywhere in its body."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_every_module_of_the_package_is_checked():
    assert {p.name for p in MODULES} >= {
        "__init__.py",
        "ports.py",
        "options.py",
        "parse.py",
        "userdata.py",
    }


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_commands_imports_nothing_from_slack_http_or_sql(path):
    assert not imported_roots(path) & FORBIDDEN


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_commands_imports_only_stdlib_yaml_and_itself(path):
    outside = {
        root
        for root in imported_roots(path)
        if root not in sys.stdlib_module_names and root not in ALLOWED_THIRD_PARTY
    }
    assert outside <= {"commands"}, outside


def test_the_import_scan_sees_imports_inside_functions(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    import sqlite3\n    from slack_sdk import WebClient\n")
    assert imported_roots(sample) == {"sqlite3", "slack_sdk"}
