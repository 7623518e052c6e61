"""The docs match the code: the README lists every document, no document points at a file the
project lacks, docs/architecture.md's folder table names every module of both packages, and
docs/adding-an-op.md covers what adding an op really takes. (The ```python blocks of
docs/extending.md run as tests in tests/test_extending.py.)"""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")


def read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


def doc_files():
    return sorted(f for f in os.listdir(DOCS) if f.endswith(".md"))


def test_readme_lists_every_document():
    readme = read("README.md")
    section = readme[readme.index("## Documentation"):]
    listed = set(re.findall(r"\]\((docs/[^)]+\.md)\)", section))
    assert listed == {f"docs/{f}" for f in doc_files()}


def test_documents_only_point_at_files_that_exist():
    for name in ["README.md"] + [os.path.join("docs", f) for f in doc_files()]:
        text = read(name)
        here = os.path.dirname(os.path.join(ROOT, name))
        for target in re.findall(r"\]\(([^)#\s]+)\)", text):      # markdown links
            if "://" in target:
                continue
            assert os.path.exists(os.path.join(here, target)), f"{name} links to missing {target}"
        for target in re.findall(r"(?<![\w/.-])([\w./-]+\.md)\b", text):   # .md files named in the text
            candidates = [os.path.join(here, target), os.path.join(ROOT, target), os.path.join(DOCS, target)]
            assert any(os.path.exists(c) for c in candidates), f"{name} names missing {target}"


def _documented_paths(table):
    """Paths in the first column of the folder table: `a/b/x.py`, `y.py` rows share a folder."""
    paths = set()
    for line in table.splitlines():
        if not line.startswith("| `"):
            continue
        cell = line.split("|")[1]
        names = re.findall(r"`([^`]+)`", cell)
        folder = os.path.dirname(names[0].rstrip("/"))
        for n in names:
            paths.add(n.rstrip("/") if "/" in n else f"{folder}/{n}")
    return paths


def _modules():
    """Every module of python/jtensor and julia/src (subpackages as folders)."""
    out = set()
    pkg = os.path.join(ROOT, "python", "jtensor")
    for f in os.listdir(pkg):
        full = os.path.join(pkg, f)
        if f.endswith(".py"):
            out.add(f"python/jtensor/{f}")
        elif os.path.isdir(full) and os.path.exists(os.path.join(full, "__init__.py")):
            out.add(f"python/jtensor/{f}")
    for f in os.listdir(os.path.join(pkg, "_native")):
        if f.endswith(".c"):
            out.add(f"python/jtensor/_native/{f}")
    for root, _, files in os.walk(os.path.join(ROOT, "julia", "src")):
        for f in files:
            if f.endswith((".jl", ".txt")):   # .txt: wire.txt, the word format table
                out.add(os.path.relpath(os.path.join(root, f), ROOT))
    return out


def test_architecture_folder_table_names_every_module():
    text = read("docs", "architecture.md")
    table = text[text.index("## Folders"):text.index("## Why the bridge")]
    documented = _documented_paths(table)
    modules = _modules()
    assert modules - documented == set(), "modules missing from docs/architecture.md's folder table"
    stale = {p for p in documented - modules if p.startswith(("python/jtensor", "julia/src"))}
    assert stale == set(), "docs/architecture.md names modules that do not exist"


def test_adding_an_op_covers_what_it_takes():
    text = read("docs", "adding-an-op.md")
    assert "There is no Python file to edit" not in text
    for needed in ("tests/opinfo.py", "tests/test_gradients.py", "python/jtensor/_derivatives.py", "batch =",
                   "BATCH_RULES", "jt.julia.reload()", "python -m jtensor.sysimage", "re-precompiles",
                   "Base.include(JTensor,", "julia --project=julia", "TypeInstabilityWarning"):
        assert needed in text, needed
    # the batching rules it lists are func.py's, all of them
    import jtensor.func
    listed = set(re.findall(r'^\| `"(\w*)"`', text, re.M))
    assert listed == set(jtensor.func.BATCH_RULES) | {""}
