"""Issue 19 item 1: one atomic writer (zoo.fileio); no hand-made temporary-file + rename
copies elsewhere (the hub's resumable ``.part`` downloads excepted)."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ALLOWED = {"zoo/fileio.py", "zoo/hub/download.py"}
PATTERN = re.compile(r"\bmkstemp\(|\bos\.replace\(|\bos\.rename\(|NamedTemporaryFile\(")


def test_no_copy_of_the_atomic_write_code():
    copies = []
    for folder in ("zoo", "datasets", "models", "losses", "tools", "benchmarks"):
        for path in (REPO / folder).rglob("*.py"):
            relative = path.relative_to(REPO).as_posix()
            if relative not in ALLOWED and PATTERN.search(path.read_text(encoding="utf-8")):
                copies.append(relative)
    assert copies == []
