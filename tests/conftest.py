"""Shared fixtures: a private network namespace per device test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from netns import Netns, netns


@pytest.fixture
def ns() -> Iterator[Netns]:
    """A fresh network namespace, deleted after the test whatever happens."""
    with netns() as n:
        yield n
