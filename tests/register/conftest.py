from __future__ import annotations

from pathlib import Path

import pytest

EXPERT_HEADER = "name,email,slack_user_id,organisation,city,role,expertise,themes,languages,bio"
PRACTICE_HEADER = "title,summary,city,organisation,themes,tags,outcome,lessons,contact_email,url,year"


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    def _write(name: str, text: str, *, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return _write
