"""The JupyterLab check: ``make lab`` as a learner meets it, driven in headless Chromium.

It starts ``jupyter lab`` from this environment with the configuration that ``make lab`` uses (``.jupyter/``,
through ``JUPYTER_CONFIG_PATH``) on a private copy of ``chapters/``, double-clicks Chapter 1 in the file
browser and asserts that it opened as a notebook (cells, not a text editor), that Run All finishes with no
error output and at least one figure, that nothing was requested outside this machine (no news feed, no
update check) and that saving writes the ``py:percent`` file back without an ``.ipynb`` beside it.

The kernel runs in the quick profile under the offline guard; ``N2T_PROGRESS`` is unset, as in ``make lab``,
so progress bars are live widgets. Without Chromium the test skips, unless ``N2T_REQUIRE_BROWSER=1`` (CI).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import jupytext
import psutil
import pytest

from tests import test_site

ROOT = Path(__file__).resolve().parents[1]
LAB_CONFIG = ROOT / ".jupyter"  # the one configuration of `make lab` (the Makefile points Jupyter at it too)
CHAPTER = "01_text_as_data.py"
pytestmark = pytest.mark.browser

browser = test_site.browser  # the site check's headless Chromium, with its skip / N2T_REQUIRE_BROWSER rule

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def lab_environment(scratch: Path) -> dict[str, str]:
    """``make lab``'s environment plus the offline guard and the quick profile; nothing from the home."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JUPYTER", "N2T_PROGRESS"))}
    env.update(
        JUPYTER_CONFIG_PATH=str(LAB_CONFIG),
        JUPYTER_CONFIG_DIR=str(scratch / "config"),  # the learner's ~/.jupyter is not part of the check
        JUPYTER_DATA_DIR=str(scratch / "data"),
        JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(scratch / "user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(scratch / "workspaces"),
        IPYTHONDIR=str(scratch / "ipython"),
        PYTHONPATH=str(ROOT / "tests" / "offline"),
        N2T_OFFLINE="1",
        N2T_PROFILE="quick",
    )
    return env


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab on a copy of ``chapters/``: (base URL, token, chapters folder, server process)."""
    scratch = tmp_path_factory.mktemp("lab")
    chapters = scratch / "chapters"
    shutil.copytree(ROOT / "chapters", chapters)
    port, token = free_port(), secrets.token_hex(16)
    log_path = scratch / "server.log"
    command = [
        sys.executable, "-m", "jupyterlab", str(chapters), "--no-browser", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
    ]  # fmt: skip
    with log_path.open("w") as log:
        server = subprocess.Popen(command, env=lab_environment(scratch), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, token, server, log_path)
        yield url, token, chapters, server, log_path
    finally:
        stop(server)


def wait_until_serving(url: str, token: str, server: subprocess.Popen, log_path: Path) -> None:
    """Poll the server's status API until it answers (or fail with its log)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"jupyter lab exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            request = urllib.request.Request(f"{url}/api/status", headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"jupyter lab did not answer within 60 s:\n{log_path.read_text()[-3000:]}")


def stop(server: subprocess.Popen) -> None:
    """Stop the server and the kernels it started."""
    try:
        children = psutil.Process(server.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    for child in children:
        if child.is_running():
            child.kill()


# What the learner sees in the open notebook, read from the DOM.
INSPECT_NOTEBOOK = """
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .map(p => p.textContent.trim());
  const outputs = [...panel.querySelectorAll('.jp-OutputArea-output')].map(n => n.textContent);
  const images = [...panel.querySelectorAll('.jp-OutputArea-output img')];
  return {
    cells: panel.querySelectorAll('.jp-Cell').length,
    codeCells: prompts.length,
    prompts,
    outputs,
    figures: images.filter(img => img.complete && img.naturalWidth > 0).length,
    brokenFigures: images.filter(img => !(img.complete && img.naturalWidth > 0)).length,
  };
}
"""

PAGE_CONFIG = "() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"

# The status bar's kernel item for the chapter reads "Python 3 (ipykernel) | Idle" once the kernel is up.
KERNEL_IDLE = """
name => {
  const item = document.querySelector(`.jp-StatusBar-TextItem[title="Change kernel for ${name}"]`);
  return item !== null && item.textContent.trim().endsWith('| Idle');
}
"""

ERROR_OUTPUT = re.compile(
    r"Traceback \(most recent call last\)|Cell In\[\d+\], line \d+|Error displaying widget"
)


def run_finished(seen: dict) -> bool:
    """Run All is over: nothing queued or running, and every code cell ran or an error stopped the run."""
    if seen is None or "[*]:" in seen["prompts"]:
        return False
    ran_all = all(re.fullmatch(r"\[\d+\]:", prompt) for prompt in seen["prompts"])
    return ran_all or any(ERROR_OUTPUT.search(text) for text in seen["outputs"])


def test_chapter_opens_runs_and_saves_as_a_notebook(browser, lab) -> None:
    """Double-click Chapter 1, Run All, save: a notebook with figures and no errors, saved as py:percent."""
    url, token, chapters, server, log_path = lab
    source = chapters / CHAPTER
    original = jupytext.read(source)
    modified_before = source.stat().st_mtime_ns

    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    outside, api_calls = [], []

    def route(request_route) -> None:
        request_url = request_route.request.url
        if request_url.startswith(("data:", "blob:")) or urlparse(request_url).hostname in LOOPBACK:
            request_route.continue_()
        else:
            outside.append(request_url)
            request_route.abort()

    context.route("**/*", route)
    context.on("request", lambda request: api_calls.append(urlparse(request.url).path))
    tab = context.new_page()
    tab.on("websocket", lambda ws: None if urlparse(ws.url).hostname in LOOPBACK else outside.append(ws.url))
    started = time.monotonic()
    try:
        tab.goto(f"{url}/lab?token={token}", wait_until="domcontentloaded")
        page_config = tab.evaluate(PAGE_CONFIG)

        # Double-click the chapter in the file browser, as a learner would.
        tab.locator(".jp-DirListing-itemText", has_text=re.compile(rf"^{re.escape(CHAPTER)}$")).dblclick(
            timeout=60_000
        )
        panel = tab.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        panel.locator(".jp-Cell").or_(tab.locator(".jp-FileEditor")).first.wait_for(timeout=30_000)
        assert not tab.locator(".jp-FileEditor").count(), f"{CHAPTER} opened in a text editor, not a notebook"
        tab.wait_for_function(KERNEL_IDLE, arg=CHAPTER, timeout=60_000)
        opened_s = time.monotonic() - started

        tab.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        tab.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        deadline = time.monotonic() + 180
        seen = tab.evaluate(INSPECT_NOTEBOOK)
        while not run_finished(seen) and time.monotonic() < deadline:
            tab.wait_for_timeout(500)
            seen = tab.evaluate(INSPECT_NOTEBOOK)
        ran_s = time.monotonic() - started - opened_s
        news_toast = tab.get_by_text(re.compile("Jupyter news", re.IGNORECASE)).count()
        dialogs = tab.locator(".jp-Dialog").all_inner_texts()
        screenshots = os.environ.get("N2T_SCREENSHOTS")
        if screenshots:  # the first figure in view, for a person to look at
            panel.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
            Path(screenshots).mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(Path(screenshots) / f"lab__{source.stem}.png"))

        # Save (Ctrl+S in the notebook) and wait until JupyterLab has written the file.
        panel.locator(".jp-Cell").first.click()
        tab.keyboard.press("Control+s")
        deadline = time.monotonic() + 30
        while source.stat().st_mtime_ns == modified_before and time.monotonic() < deadline:
            tab.wait_for_timeout(200)
        tab.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").wait_for(state="detached", timeout=10_000)
        kernel_pythons = [
            process.cmdline()[0]
            for process in psutil.Process(server.pid).children(recursive=True)
            if "ipykernel_launcher" in " ".join(process.cmdline())
        ]
    finally:
        context.close()
    print(f"\nlab: chapter open with an idle kernel after {opened_s:.1f} s, Run All took {ran_s:.1f} s")

    assert not outside, f"JupyterLab asked for resources outside this machine: {outside}"
    assert page_config["news"]["disabled"], "the news feed is on (LabApp.news_url is not None)"
    assert page_config["extensionManager"]["name"] != "PyPI", "the extension manager lists PyPI"
    assert not news_toast, "JupyterLab asks whether to fetch Jupyter news"
    asked = sorted({path for path in api_calls if path.endswith(("/lab/api/news", "/lab/api/update"))})
    assert not asked, f"the page asked the server to fetch news or updates: {asked}"

    assert not dialogs, f"a dialog interrupted the learner: {dialogs}"
    assert seen is not None, f"{CHAPTER} did not open as a notebook"
    assert seen["cells"] == len(original.cells), f"{seen['cells']} cells shown, {len(original.cells)} in file"
    errors = [text[:500] for text in seen["outputs"] if ERROR_OUTPUT.search(text)]
    assert not errors, f"cells finished with an error output:\n{errors}"
    assert run_finished(seen), f"Run All did not finish within 180 s; prompts: {seen['prompts']}"
    assert seen["figures"] >= 1, "no cell output shows a figure"
    assert seen["brokenFigures"] == 0, f"{seen['brokenFigures']} figures did not render"
    assert kernel_pythons, "no ipykernel process was found under the server"
    environment = Path(os.path.abspath(sys.executable)).parent  # .venv/bin, links not followed
    assert all(Path(python).parent == environment for python in kernel_pythons), (
        f"the kernel runs {kernel_pythons}, not this environment's {sys.executable}"
    )
    assert "n2t offline guard" not in log_path.read_text(), "the server or a kernel reached for the network"

    assert source.stat().st_mtime_ns != modified_before, f"saving did not write {CHAPTER}"
    notebooks = sorted(path.name for path in chapters.glob("*.ipynb"))
    assert not notebooks, f"saving wrote .ipynb files next to the chapters: {notebooks}"
    saved = jupytext.read(source, fmt="py:percent")
    assert saved.metadata["jupytext"]["text_representation"]["format_name"] == "percent"
    assert [(cell.cell_type, cell.source) for cell in saved.cells] == [
        (cell.cell_type, cell.source) for cell in original.cells
    ], "the saved chapter does not read back as the same py:percent notebook"
