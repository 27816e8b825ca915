"""Bad tool arguments fail at once with a message naming the option (issue 18 item 10)."""
import os
from pathlib import Path

import pytest
from tool_loading import load_tool

from zoo.work_dir import check_output_file

REPO = Path(__file__).resolve().parents[2]
SYNTHETIC = str(REPO / "configs/skeleton/stgcn_synthetic.py")


class _NoRunner:
    @staticmethod
    def from_cfg(cfg):
        raise AssertionError("the runner was built: the output path was not checked first")


def test_confusion_to_an_unwritable_path_fails_before_testing(tmp_path):
    tool = load_tool("test")
    tool.Runner = _NoRunner  # any test run would reach this
    checkpoint = tmp_path / "epoch_1.pth"
    checkpoint.write_bytes(b"never read")
    blocker = tmp_path / "plots"
    blocker.write_text("a file where a folder is needed")
    with pytest.raises(NotADirectoryError, match=rf"--confusion {blocker}/c\.png: cannot write "
                                                 r"there"):
        tool.main([SYNTHETIC, str(checkpoint), "--work-dir", str(tmp_path / "wd"),
                   "--confusion", str(blocker / "c.png")])
    with pytest.raises(IsADirectoryError, match=r"--dump .*is a folder"):
        tool.main([SYNTHETIC, str(checkpoint), "--work-dir", str(tmp_path / "wd"),
                   "--dump", str(tmp_path)])


def test_check_output_file_creates_parents_and_leaves_nothing(tmp_path):
    target = tmp_path / "new" / "deeper" / "confusion.png"
    check_output_file(target, "--confusion")
    assert target.parent.is_dir() and list(target.parent.iterdir()) == []


@pytest.mark.parametrize("flag, value", [("--num-samples", "0"), ("--num-clips", "0"),
                                         ("--batch-size", "-1"), ("--steps", "0")])
def test_attack_rejects_non_positive_counts(flag, value, capsys):
    tool = load_tool("attack")
    with pytest.raises(SystemExit) as info:
        tool.parse_args([SYNTHETIC, "--checkpoint", "x.pth", "--attack", "PGD", "--out", "o",
                         flag, value])
    assert info.value.code == 2
    assert f"{flag} must be a positive integer, got {value}" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root may write into a read-only folder")
def test_check_output_file_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match=r"--confusion .*ro/c\.png: cannot write"):
            check_output_file(folder / "c.png", "--confusion")
    finally:
        folder.chmod(0o755)
