"""Every ```python block of README.md and docs/*.md runs (docs/extending.md's blocks, which build
on each other, run in order in tests/test_extending.py). Each block runs as a script of its own in
a fresh interpreter, so that `if __name__ == "__main__":` and multiprocessing's spawn work as they
do for a reader who copies it."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(os.path.join(ROOT, "docs"))
                              if f.endswith(".md") and f != "extending.md")


def blocks():
    for doc in DOCS:
        text = open(os.path.join(ROOT, doc), encoding="utf-8").read()
        for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
            line = text.count("\n", 0, m.start()) + 1
            yield pytest.param(m.group(1), id=f"{doc}:{line}")


@pytest.mark.parametrize("source", list(blocks()))
def test_doc_block_runs(source, tmp_path):
    script = tmp_path / "block.py"
    script.write_text(source)
    p = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"the block failed:\n{source}\n--- stderr:\n{p.stderr[-3000:]}"
