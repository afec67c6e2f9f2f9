"""A command whose extra is not installed ends in one line naming the extra (exit 2),
and the app names the Debian packages its Qt platform plugin lacks.

The CLI runs in a child process whose ``sys.meta_path`` refuses the extra's modules,
so ``import PySide6`` raises :class:`ModuleNotFoundError` exactly as it does when the
package is absent; nothing of ours is mocked.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from bci_valence.cli import EXTRA_MODULES, install_hint, missing_extra
from tests.helpers import REPO_ROOT

#: Runs ``bci_valence.cli.main(argv[2:])`` with the modules named in argv[1] refused.
WRAPPER = textwrap.dedent(
    """
    import sys

    BLOCKED = {name for name in sys.argv[1].split(",") if name}


    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None


    sys.meta_path.insert(0, Refuse())
    from bci_valence.cli import main

    sys.exit(main(sys.argv[2:]))
    """
)


def _cli(blocked: str, *args: str, env: dict[str, str | None] | None = None, pythonpath: Path | None = None,
         timeout: float = 240.0) -> subprocess.CompletedProcess:
    full = dict(os.environ, HF_HUB_OFFLINE="1")
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    if pythonpath is not None:
        full["PYTHONPATH"] = os.pathsep.join([str(pythonpath), str(REPO_ROOT)])
    return subprocess.run([sys.executable, "-c", WRAPPER, blocked, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO_ROOT, env=full, check=False)  # fmt: skip


def _one_line(proc: subprocess.CompletedProcess, expected: str) -> None:
    lines = [ln for ln in re.sub(r"[^\n]*\r", "", proc.stderr).splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert expected in lines, proc.stderr[-2000:]
    assert sum("bci-valence[" in ln for ln in lines) == 1, proc.stderr[-2000:]


def test_the_hint_is_one_line_with_the_pip_command() -> None:
    assert install_hint("gui", "gui") == "error: 'bci-valence gui' needs the gui extra: pip install \"bci-valence[gui]\""


@pytest.mark.parametrize("blocked", ["PySide6", "pyqtgraph"])
def test_gui_without_the_gui_extra(blocked: str) -> None:
    proc = _cli(blocked, "gui", "--source", "sim")
    _one_line(proc, install_hint("gui", "gui"))


@pytest.mark.parametrize("blocked", ["transformers", "vaderSentiment"])
def test_axis_validate_without_the_offline_extra(blocked: str) -> None:
    proc = _cli(blocked, "axis", "validate", "--readme-ratings", "--no-figure", "--no-progress")
    _one_line(proc, install_hint("axis validate", "offline"))


@pytest.mark.timeout(300)
def test_study_probe_without_ray(tmp_path: Path) -> None:
    faced = Path(os.environ.get("BCI_VALENCE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")) / "faced"
    if not faced.is_dir():
        pytest.skip(f"the study reads FACED before it starts Ray: no FACED root at {faced}")
    proc = _cli("ray", "study", "probe", "--faced-root", str(faced), "--out", str(tmp_path / "probe"),
                "--no-progress")
    _one_line(proc, install_hint("study probe", "offline"))


def test_a_missing_module_of_no_extra_keeps_its_traceback(tmp_path: Path) -> None:
    """Only the extras' packages become the hint: anything else is a bug to show in full."""
    plugin = _plugin(tmp_path, "def run(args):\n    import bci_valence.no_such_module\n")
    proc = _cli("", "plugged", pythonpath=plugin)
    assert proc.returncode == 1 and "Traceback" in proc.stderr
    assert "No module named 'bci_valence.no_such_module'" in proc.stderr
    assert "bci-valence[" not in proc.stderr


def test_only_an_absent_package_of_an_extra_is_an_install_hint() -> None:
    pytest.importorskip("PySide6")
    submodule = ModuleNotFoundError("No module named 'PySide6.QtNoSuchModule'", name="PySide6.QtNoSuchModule")
    assert missing_extra(submodule) is None  # PySide6 is installed: a bug, not a missing extra
    assert missing_extra(ImportError("libEGL.so.1: cannot open shared object file", name="PySide6")) is None
    assert missing_extra(ModuleNotFoundError("No module named 'nosuchpkg'", name="nosuchpkg")) is None


def _plugin(tmp_path: Path, body: str, top: str = "") -> Path:
    """A distribution on ``PYTHONPATH`` adding the command ``plugged`` through the
    entry-point group, as the offline and gui applications do."""
    site = tmp_path / "site"
    (site / "plugged_pkg-0.1.dist-info").mkdir(parents=True)
    (site / "plugged_pkg-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: plugged-pkg\n"
                                                               "Version: 0.1\n")  # fmt: skip
    (site / "plugged_pkg-0.1.dist-info" / "entry_points.txt").write_text(
        "[bci_valence.commands]\nplugged = plugged_cli:add_parser\n")
    (site / "plugged_cli.py").write_text(
        f"{top}\n\ndef add_parser(subparsers):\n    p = subparsers.add_parser('plugged', help='a test command')\n"
        f"    p.set_defaults(func=run)\n    return p\n\n\n{body}")
    return site


def test_a_command_module_that_cannot_load_is_listed_and_names_its_extra(tmp_path: Path) -> None:
    plugin = _plugin(tmp_path, "def run(args):\n    return 0\n", top="import PySide6")
    help_text = _cli("PySide6", "--help", pythonpath=plugin)
    assert help_text.returncode == 0, help_text.stderr
    assert re.search(r"plugged\s+\(needs the gui extra\)", help_text.stdout), help_text.stdout
    for args in ([], ["--help"], ["--source", "sim:", "x"]):
        _one_line(_cli("PySide6", "plugged", *args, pythonpath=plugin), install_hint("plugged", "gui"))
    loaded = _cli("", "plugged", pythonpath=plugin)  # with PySide6 present it is a plain command
    assert loaded.returncode == 0, loaded.stderr


def _pyproject_extras() -> dict[str, set[str]]:
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    name = re.compile(r"^[A-Za-z0-9._-]+")
    return {extra: {name.match(req).group(0).lower().replace("_", "-") for req in reqs}
            for extra, reqs in data["project"]["optional-dependencies"].items()}


def _requirements_of(dist: str) -> set[str]:
    try:
        reqs = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:
        return set()
    name = re.compile(r"^[A-Za-z0-9._-]+")
    return {name.match(r).group(0).lower().replace("_", "-") for r in reqs if "extra ==" not in r}


@pytest.mark.parametrize("module", sorted(EXTRA_MODULES))
def test_each_module_is_installed_by_the_extra_it_names(module: str) -> None:
    """The mapping follows pyproject.toml: the module's distribution is one the extra
    lists, or a dependency of one."""
    dists = metadata.packages_distributions().get(module)
    if not dists:
        pytest.skip(f"{module} is not installed here")
    extra = EXTRA_MODULES[module]
    listed = _pyproject_extras()[extra]
    reachable = listed | {dep for d in listed for dep in _requirements_of(d)}
    assert {d.lower().replace("_", "-") for d in dists} & reachable, (module, dists, extra)


# ---------------------------------------------------------------------------
# The desktop app: why it runs headless, and the system libraries of Qt's xcb plugin
# ---------------------------------------------------------------------------


def test_demo_says_in_one_line_why_it_runs_headless(tmp_path: Path) -> None:
    # an absent bundle ends the headless run at once, after the reason is printed
    proc = _cli("", "demo", "--bundle", str(tmp_path / "absent"), "--out-dir", str(tmp_path / "out"),
                env={"DISPLAY": None, "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None})  # fmt: skip
    first = proc.stderr.splitlines()[0]
    assert first.startswith("bci-valence demo: no display: DISPLAY and WAYLAND_DISPLAY are unset; "
                            "running headless instead (60 s, CSV and PNG in "), proc.stderr  # fmt: skip
    assert "bci-valence demo failed" in proc.stderr  # it did go on headless


def test_demo_without_the_gui_extra_runs_headless_and_says_why(tmp_path: Path) -> None:
    proc = _cli("PySide6", "demo", "--bundle", str(tmp_path / "absent"), "--out-dir", str(tmp_path / "out"),
                env={"DISPLAY": ":87", "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None})  # fmt: skip
    first = proc.stderr.splitlines()[0]
    assert first.startswith("bci-valence demo: the window needs the gui extra (pip install \"bci-valence[gui]\"); "
                            "running headless instead"), proc.stderr  # fmt: skip
    assert "Traceback" not in proc.stderr


LDD_SAMPLE = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibfoo-unknown.so.3 => not found
\tlibxcb-icccm.so.4 => not found
"""


def test_ldd_output_gives_each_missing_library_once() -> None:
    from gui.app import missing_libraries

    assert missing_libraries(LDD_SAMPLE) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libfoo-unknown.so.3"]
    assert missing_libraries("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_every_library_of_the_xcb_plugin_has_its_debian_package() -> None:
    """The soname table covers what PySide6's xcb plugin and its Qt libraries load from
    the system (read from the real plugin with readelf)."""
    from gui.app import QT_SYSTEM_PACKAGES, xcb_plugin_path

    plugin = xcb_plugin_path()
    readelf = shutil.which("readelf")
    if plugin is None or readelf is None:
        pytest.skip("needs PySide6's xcb plugin and readelf")
    qt_lib = plugin.parents[2] / "lib"
    todo, seen, system = [plugin], set(), set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        out = subprocess.run([readelf, "-d", str(path)], capture_output=True, text=True, check=True).stdout
        for soname in re.findall(r"Shared library: \[(.+?)\]", out):
            if (qt_lib / soname).is_file():
                todo.append(qt_lib / soname)
            elif not soname.startswith(("libc.", "libm.", "libdl.", "libpthread.", "librt.", "ld-linux",
                                        "libstdc++.", "libgcc_s.", "libz.", "libzstd.")):
                system.add(soname)
    assert system and system <= set(QT_SYSTEM_PACKAGES), sorted(system - set(QT_SYSTEM_PACKAGES))
    readme = (REPO_ROOT / "README.md").read_text()
    setup = readme[readme.index("## Set up"):readme.index("\n## ", readme.index("## Set up") + 1)]
    words = set(re.findall(r"[\w.+-]+", setup))
    assert {QT_SYSTEM_PACKAGES[s] for s in system} <= words, "README.md's set-up lists each package"
    assert {"xvfb", "xauth"} <= words


def _missing_now() -> list[str]:
    from gui.app import missing_libraries, xcb_plugin_path

    plugin, ldd = xcb_plugin_path(), shutil.which("ldd")
    if plugin is None or ldd is None:
        return []
    return missing_libraries(subprocess.run([ldd, str(plugin)], capture_output=True, text=True).stdout)


@pytest.mark.timeout(120)
def test_gui_names_the_debian_packages_its_xcb_plugin_lacks(tmp_path: Path) -> None:
    """On a system without some of the plugin's libraries (as a bare Debian), the app
    names them and their packages instead of Qt's message about libxcb-cursor0."""
    from gui.app import QT_SYSTEM_PACKAGES

    missing = _missing_now()
    if not missing:
        pytest.skip("every library of Qt's xcb plugin is installed here")
    proc = _cli("", "gui", "--settings", str(tmp_path / "s.ini"),
                env={"DISPLAY": ":87", "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None})  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    first = proc.stderr.splitlines()[0]
    assert "Qt's xcb platform plugin cannot load: missing " + ", ".join(missing) in first
    packages = [QT_SYSTEM_PACKAGES[m] for m in missing if m in QT_SYSTEM_PACKAGES]
    assert f"sudo apt-get install {' '.join(dict.fromkeys(packages))}" in first


@pytest.mark.timeout(120)
def test_a_display_without_an_x_server_is_named_as_such(tmp_path: Path) -> None:
    """With every library present, the reason is the display itself, not Qt's
    follow-up line about libxcb-cursor0."""
    if _missing_now():
        pytest.skip("Qt's xcb plugin lacks libraries here (the test above covers that)")
    proc = _cli("", "gui", "--settings", str(tmp_path / "s.ini"),
                env={"DISPLAY": ":87", "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None})  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Qt cannot open a window on display ':87': could not connect to display :87" in proc.stderr
    assert "cursor" not in proc.stderr
