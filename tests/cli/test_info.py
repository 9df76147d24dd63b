"""``hybrid info`` (hybrid/cli/info.py): what the headers say, as text."""

from __future__ import annotations

from tests.helpers.cli import run, save_jpeg


def test_info_text(tmp_path):
    src = save_jpeg(tmp_path / "a.jpg", quality=60, progressive=True)
    result = run("info", src)
    assert result.exit_code == 0
    assert "32x24 JPEG, progressive" in result.stdout
    assert "estimated quality: 60" in result.stdout
    assert "quantization table 0" in result.stdout
