"""The README says what the code does: its config reference is the option table's own."""
from __future__ import annotations

from conftest import ROOT
from policysite.config import OPTIONS, reference


def test_readme_config_reference_is_made_from_the_option_table():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert reference() in readme, "README's config reference is out of date: paste `python -m policysite.config`"
    for opt in OPTIONS:                      # (and so every option is documented, with its default)
        section, _, name = opt.key.partition(".")
        assert (f"`[{section}] {name}`" if name else f"`[[{section}]]`") in readme


def test_readme_names_every_module_of_the_engine():
    readme = (ROOT / "README.md").read_text("utf-8")
    how = readme[readme.index("## How it works"):]
    how = how[:how.index("\n## ", 4)]
    modules = sorted(p.relative_to(ROOT / "policysite").as_posix()
                     for p in (ROOT / "policysite").rglob("*.py") if p.name != "__init__.py")
    missing = [m for m in modules if m.rsplit("/", 1)[-1] not in how]
    assert not missing, f"README's How it works does not mention: {missing}"


def test_the_package_ships_the_engine_and_its_default_theme(tmp_path):
    """`pip install .` gives the `policysite` command with every module and theme file: the
    wheel is built here (offline, without build isolation) and its file list checked."""
    import shutil
    import subprocess
    import sys
    import zipfile
    src = tmp_path / "src"                      # a copy: building writes build/ and *.egg-info beside it
    shutil.copytree(ROOT / "policysite", src / "policysite", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "requirements.txt"):
        shutil.copy(ROOT / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(src)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    wheel = next(tmp_path.glob("policysite-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    engine = {p.relative_to(ROOT).as_posix() for p in (ROOT / "policysite").rglob("*")
              if p.is_file() and "__pycache__" not in p.parts}
    assert engine <= names, sorted(engine - names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "policysite = policysite.cli:run" in zipfile.ZipFile(wheel).read(entry).decode()
