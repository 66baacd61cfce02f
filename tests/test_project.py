"""The project's own consistency: pinned environment, data listing, book structure."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from n2t import data, plot

ROOT = Path(__file__).resolve().parents[1]


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def test_requirements_are_exact_pins_with_torch_2_13():
    lines = [ln for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=<>~]+", ln) for ln in lines), "every requirement is an exact pin"
    pins = _requirements()
    assert pins["torch"] == "2.13.0"
    for needed in ("jupyter-book", "jupytext", "nbval", "pytest-xdist", "sphinx-mathjax-offline", "ruff", "playwright"):
        assert needed in pins, f"{needed} is not pinned in requirements.txt"
    assert pins["jupyter-book"].startswith("1."), "the book needs Jupyter Book 1.x"


def test_environment_yml_matches_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    dependencies = env["dependencies"]
    assert "python=3.11" in dependencies and "pip" in dependencies
    pip_section = next(d["pip"] for d in dependencies if isinstance(d, dict))
    assert pip_section == [f"--extra-index-url {TORCH_CPU_INDEX}", "-r requirements.txt", "-e ."], (
        "conda installs exactly what make installs, torch's CPU build included")
    conda_packages = {d.split("=")[0] for d in dependencies if isinstance(d, str)}
    assert conda_packages == {"python", "pip"}, "every other package comes from requirements.txt"


TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _make_dry_run(*arguments: str) -> str:
    """What ``make -n`` would run to create the environment (in a directory that does not exist)."""
    venv = "/nonexistent/n2t-venv"
    command = ["make", "-n", "-C", str(ROOT), "env", f"VENV={venv}", *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def test_make_installs_the_cpu_torch_by_default_and_cuda_on_request():
    # PyPI's Linux torch wheel pulls gigabytes of CUDA packages whatever the pin: by default pip also reads
    # PyTorch's CPU index (whose 2.13.0+cpu sorts above 2.13.0); TORCH=cuda is the one documented opt-in.
    default = _make_dry_run()
    assert f'index="--extra-index-url {TORCH_CPU_INDEX}"' in default
    assert re.search(r"pip install --quiet --disable-pip-version-check \$index -r requirements.txt", default)
    assert '[ "cpu" = cpu ]' in default and '[ "cuda" = cpu ]' in _make_dry_run("TORCH=cuda")
    # a machine that cannot reach the index (offline, with a local mirror) must not wait on it: a short probe
    # decides, and the install then runs with pip's own configuration
    probe = re.search(r"urlopen\(\"(?P<url>[^\"]+)\", timeout=(?P<timeout>\d+)\)", default)
    assert probe and probe["url"].startswith(TORCH_CPU_INDEX) and int(probe["timeout"]) <= 5
    assert "out of reach" in default
    assert "--index-url" not in default.replace("--extra-index-url", ""), "never replace the user's own index"
    # TORCH is documented where a newcomer looks
    readme = (ROOT / "README.md").read_text()
    assert "TORCH=cuda" in readme and TORCH_CPU_INDEX in readme
    assert "TORCH=cuda" in (ROOT / "book" / "how_to_use.md").read_text()
    bad = subprocess.run(["make", "-C", str(ROOT), "env", "TORCH=rocm", "VENV=/nonexistent/n2t-venv"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "TORCH must be cpu or cuda" in bad.stderr


def test_readme_leads_with_the_quick_first_look_and_lists_every_chapter():
    readme = (ROOT / "README.md").read_text()
    commands = readme[readme.index("```bash"):]
    commands = commands[: commands.index("```", 3)]
    assert commands.index("N2T_PROFILE=quick make book") < commands.index("make book  ")
    path = readme[readme.index("**The path:**"): readme.index("## ")]
    for chapter in range(1, 13):
        assert f"({chapter})" in path, f"chapter {chapter} is missing from the README's path"
    assert "VENV=$CONDA_PREFIX" in readme, "the README says how the make targets use a conda environment"


def _is_cjk(character: str) -> bool:
    code = ord(character)
    return 0x2E80 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFF00 <= code <= 0xFFEF


def test_the_web_font_covers_the_chinese_of_every_page_and_is_served():
    from fontTools.ttLib import TTFont

    cmap = TTFont(data.data_file(plot.CJK_FONT_FILE)).getBestCmap()
    pages = [*ROOT.glob("book/*.md"), *ROOT.glob("chapters/*.py"), ROOT / "_toc.yml"]
    missing = {ch: page.name for page in pages for ch in page.read_text() if _is_cjk(ch) and ord(ch) not in cmap}
    assert not missing, f"the font subset lacks these characters of the pages (data/fonts/SOURCE.md): {missing}"
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"]["cjk_webfont"] == "book/_ext"
    css = (ROOT / "_static" / "n2t.css").read_text()
    font = Path(plot.CJK_FONT_FILE).name
    assert f'url("fonts/{font}")' in css and "unicode-range" in css
    fonts = css.split(":root", 1)[1]
    assert fonts.count('font-family-base: "N2T Noto Sans CJK SC", ') == 1, "the theme's font lists name it first"


def test_pyproject_pins_torch_like_requirements():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"torch==2.13.0"' in text


def test_sha256sums_lists_exactly_the_shipped_data_files():
    listed = set(data._recorded_checksums(ROOT / "data"))
    shipped = {
        str(p.relative_to(ROOT / "data"))
        for p in (ROOT / "data").rglob("*")
        if p.is_file() and p.name not in ("SHA256SUMS", "SOURCE.md", "README.md", "readme", "licence.txt")
    }
    assert listed == shipped
    for name in listed:
        data.data_file(name)  # verifies the checksum


def test_every_data_folder_carries_its_source_and_licence():
    for folder in (ROOT / "data").iterdir():
        if folder.is_dir():
            assert (folder / "SOURCE.md").is_file(), f"{folder.name} has no SOURCE.md"
            assert "licen" in (folder / "SOURCE.md").read_text().lower(), f"{folder.name}: SOURCE.md names no licence"


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]


def test_every_chapter_is_in_the_toc_and_every_toc_page_exists():
    chapters = {f"chapters/{p.stem}" for p in (ROOT / "chapters").glob("[0-9][0-9]_*.py")}
    assert chapters, "no chapters found"
    toc = _toc_files()
    assert chapters <= set(toc), f"chapters missing from _toc.yml: {sorted(chapters - set(toc))}"
    for page in toc:
        assert (ROOT / f"{page}.md").is_file() or (ROOT / f"{page}.py").is_file(), f"{page} is in the toc but missing"


def test_no_notebook_or_build_output_is_committed():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert not [f for f in tracked if f.endswith(".ipynb")], "chapters are jupytext .py files; no .ipynb is committed"
    assert not [f for f in tracked if f.startswith(("_build/", ".venv/"))]


def test_chapters_use_the_plain_number_glue():
    for chapter in (ROOT / "chapters").glob("[0-9][0-9]_*.py"):
        text = chapter.read_text()
        assert "from myst_nb import glue" not in text, f"{chapter.name}: use n2t.book.glue (NumPy scalars break glue:text)"


def test_glossary_has_the_key_terms_in_both_languages():
    glossary = (ROOT / "book" / "glossary.md").read_text()
    for english, chinese in [
        ("self-attention", "自注意力"), ("positional encoding", "位置编码"), ("residual connection", "残差连接"),
        ("layer normalization", "层归一化"), ("teacher forcing", "教师强制"), ("autoregressive", "自回归"),
        ("perplexity", "困惑度"), ("smoothing", "平滑"), ("fine-tuning", "微调"), ("freezing", "冻结"),
    ]:
        row = next((ln for ln in glossary.splitlines() if ln.startswith(f"| {english}")), "")
        assert chinese in row, f"glossary row for {english!r} lacks {chinese!r}"


def test_site_config_is_strict_and_offline():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "force"
    assert config["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert "sphinx-mathjax-offline" in config["sphinx"]["extra_extensions"]
    assert config["only_build_toc_files"] is True
    makefile = (ROOT / "Makefile").read_text()
    assert "-W -n --keep-going" in makefile
    assert "--nbval-lax --nbval-current-env" in makefile and "--dist loadfile" in makefile


def test_plot_helpers_label_their_axes():
    import matplotlib

    matplotlib.use("Agg")
    ax = plot.curves({"a": ([1, 2], [3, 4])}, xlabel="x label", ylabel="y label")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x label", "y label")
    ax = plot.heatmap([[0, 1], [1, 0]], xlabel="key", ylabel="query")
    assert ax.get_xlabel() == "key"
    assert plot.pca_2d([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]).shape == (4, 2)
    import pytest

    with pytest.raises(ValueError, match="two-dimensional"):
        plot.heatmap([1, 2, 3])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plot.scatter_2d([[1, 2, 3]])
    ax = plot.scatter_2d([[0, 0], [1, 1], [2, 2]], ["a", "b", "c"], groups=["x", "y", "x"])
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["x", "y"]
    assert [len(collection.get_offsets()) for collection in ax.collections] == [2, 1]
    with pytest.raises(ValueError, match="groups must name the group of each of the 3 points"):
        plot.scatter_2d([[0, 0], [1, 1], [2, 2]], groups=["x"])


# ------------------------------------------------------------------ what the pages show of the library

MAX_EXCERPT_LINES = 30  # a page shows the core lines of a function, not its input validation
PAGE_WIDTH = 88  # characters of code that the page shows without a scroll bar (chapters/ruff.toml)
_INCLUDE = re.compile(r"^# ```\{literalinclude\} (?P<path>\S+)\n(?P<options>(?:# :[^\n]*\n)*)", re.MULTILINE)


def literal_includes() -> list[tuple[str, str, dict[str, str]]]:
    """Every ``{literalinclude}`` of the chapters: (chapter, included path, options)."""
    found = []
    for chapter in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.py")):
        for match in _INCLUDE.finditer(chapter.read_text()):
            options = {}
            for line in match["options"].splitlines():
                key, _, value = line[3:].partition(":")
                options[key.strip()] = value.strip()
            found.append((chapter.name, match["path"], options))
    return found


def test_library_excerpts_fit_the_page():
    from types import SimpleNamespace

    from sphinx.directives.code import LiteralInclude, LiteralIncludeReader

    includes = literal_includes()
    assert includes, "the chapters show no library code at all"
    config = SimpleNamespace(source_encoding="utf-8-sig")
    for chapter, path, options in includes:
        source = (ROOT / "chapters" / path).resolve()
        where = f"{chapter}: literalinclude {path} {options}"
        assert source.is_file(), f"{where}: no such file"
        # the directive's own converters, e.g. a bare ":dedent:" means None (dedent automatically)
        parsed = {key: LiteralInclude.option_spec[key](value or None) for key, value in options.items()}
        text, _ = LiteralIncludeReader(str(source), parsed, config).read()
        lines = text.rstrip("\n").splitlines()
        too_wide = [line for line in lines if len(line) > PAGE_WIDTH]
        assert not too_wide, f"{where}: {len(too_wide)} lines wider than {PAGE_WIDTH}: {too_wide[:3]}"
        assert len(lines) <= MAX_EXCERPT_LINES, (
            f"{where}: {len(lines)} lines; show the core lines (:start-after:/:end-before: or :lines:)"
        )
        if path.startswith("../lib/"):
            assert Path(path).name in options.get("caption", ""), f"{where}: its :caption: must name the file"


def test_bibliography_parses_and_holds_every_cited_key():
    from pybtex.database import parse_file

    entries = parse_file(str(ROOT / "book" / "references.bib")).entries
    pages = [*(ROOT / "chapters").glob("[0-9][0-9]_*.py"), *(ROOT / "book").glob("*.md")]
    cited = {key.strip() for page in pages for keys in re.findall(r"\{cite:[pt]\}`([\w, -]+)`", page.read_text())
             for key in keys.split(",")}
    assert cited, "no citation found: the pattern is wrong"
    assert cited <= set(entries), f"cited but not in references.bib: {sorted(cited - set(entries))}"


def test_glossary_names_each_term_once():
    terms = [line.split("|")[1].strip() for line in (ROOT / "book" / "glossary.md").read_text().splitlines()
             if line.startswith("| ") and not line.startswith("| English")]
    assert len(terms) == len(set(terms)), f"terms listed twice: {sorted({t for t in terms if terms.count(t) > 1})}"


def test_github_workflows_run_the_readme_commands():
    workflows = ROOT / ".github" / "workflows"
    test_job = yaml.safe_load((workflows / "test.yml").read_text())["jobs"]["test"]
    book = yaml.safe_load((workflows / "book.yml").read_text())
    test_runs = [step.get("run", "") for step in test_job["steps"]]
    assert "make test" in test_runs, "the test workflow runs the README's test command, nothing weaker"
    build_steps = book["jobs"]["build"]["steps"]
    assert "make book" in [step.get("run", "") for step in build_steps]
    uploads = [step for step in build_steps if "upload-pages-artifact" in step.get("uses", "")]
    assert uploads and uploads[0]["with"]["path"] == "_build/html"
    assert "deploy-pages" in str(book["jobs"]["deploy"]["steps"])
    # Both install torch as a newcomer's machine does, through make's own default (the CPU build).
    for env in (test_job["env"], book["jobs"]["build"]["env"]):
        assert not {"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "TORCH"} & set(env)
    assert "github.io" in (ROOT / "README.md").read_text(), "the README links the online book"
