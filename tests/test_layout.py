"""The code's shape the architecture promises: no module in tapwatch/ over 900 lines, and no
function over 60 lines in the command line's package (parsing, validation by area, the two
ways of running), so each stays readable and testable alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tapwatch"
MAX_MODULE_LINES = 900
MAX_CLI_FUNCTION_LINES = 60
MODULES = sorted(PACKAGE.rglob("*.py"))


def test_the_package_is_where_these_tests_look() -> None:
    assert (PACKAGE / "__init__.py").is_file() and len(MODULES) > 100


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_over_900_lines(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{path.name}: {lines} lines; split it by what it holds"


def test_no_function_in_the_command_line_package_over_60_lines() -> None:
    long = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_CLI_FUNCTION_LINES:
                    long.append(f"{path.name}:{node.name} ({size} lines)")
    assert not long, long
