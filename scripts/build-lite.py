"""Build the book's in-browser site (JupyterLite + Pyodide) into _build/html/lite/.

    .venv/bin/python scripts/build-lite.py [--out _build/html/lite]     (`make lite`; `make book` runs it)

Everything the site loads is served from its own files, so it runs with every request off
this machine blocked:

    _build/html/lite/
      lab/ notebooks/ tree/ build/ ...   the JupyterLite app (jupyterlite-core, from PyPI)
      extensions/                        pyodide-kernel-extension + @jupyter-widgets/jupyterlab-manager
      files/book/*.ipynb                 every chapter of _toc.yml     } outputs cleared,
      files/exercises/*.ipynb            every exercise                } kernel "python"
      files/conformance/...              the two data files book/real-kernel.ipynb reads
      static/pyodide/                    the runtime (npm `pyodide`, scripts/vendor-js.sh; its
                                         python_stdlib.zip with bytecode added, see
                                         stdlib_with_bytecode),
        pyodide-lock.json                  a lock file of our own: only the wheels below,
        *.whl                              at local URLs (PyPI wheels of lite/requirements-pyodide.txt,
                                           the kernel's own wheels, refmodel and workbook_lite
                                           built from this checkout)
      jupyter-lite.json                  pyodideUrl -> static/pyodide, PyPI fallback off,
                                         the packages loaded at kernel start (lite/jupyter-lite.json)

Steps print one line each.  Inputs: lite/ (configuration, pins, the kernel's startup package),
lite/vendor/pyodide (make vendor), the .venv's jupyterlite-core and jupyterlite-pyodide-kernel.
Downloads go through pip to .cache/lite/wheels (hash-checked; a rebuild reuses them).
"""

import argparse
import base64
import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import time
import zipfile
from email.parser import Parser
from pathlib import Path

import nbformat
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LITE = ROOT / "lite"
PYODIDE_SRC = LITE / "vendor" / "pyodide"
CACHE = ROOT / ".cache" / "lite"
WORK = ROOT / "_build" / "lite-src"            # jupyter lite's working folder (doit db, staging)
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
# Data files that a chapter reads from the repository (book/real-kernel.ipynb walks up from
# its folder to the one holding conformance/results/latest.json).
DATA_FILES = ["conformance/results/latest.json", "conformance/differences.json"]
# Federated (front-end) extensions the site carries; any other labextension in .venv
# (jupytext, pygments themes, ...) is left out, since it may expect a Jupyter server.
EXTENSIONS = ["@jupyterlite/pyodide-kernel-extension", "@jupyter-widgets/jupyterlab-manager"]
# Wheels that ship inside jupyterlite-pyodide-kernel's labextension (static/pypi/).
KERNEL_WHEELS = ["piplite", "pyodide_kernel", "ipykernel", "widgetsnbextension-4"]

T0 = time.perf_counter()


def step(msg: str) -> None:
    print(f"lite: [{time.perf_counter() - T0:5.1f}s] {msg}", flush=True)


def fail(msg: str) -> None:
    print(f"lite: ERROR: {msg}", file=sys.stderr)
    sys.exit(1)


def run(cmd: list, **kw) -> None:
    """Run a command; on failure show its output and stop."""
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        noise = re.compile(r"^WARNING: Location .* is ignored")
        out = "\n".join(ln for ln in (r.stdout + r.stderr).splitlines() if not noise.match(ln))
        fail(f"{' '.join(map(str, cmd[:4]))} ... exited {r.returncode}:\n{out[-4000:]}")


# -- the Pyodide runtime ----------------------------------------------------------------------

def pyodide_runtime() -> dict:
    """The vendored runtime's upstream lock file, after checking that its version is the
    one the installed pyodide kernel was built for."""
    from jupyterlite_pyodide_kernel import constants
    pkg = PYODIDE_SRC / "package.json"
    if not pkg.is_file():
        fail(f"{PYODIDE_SRC.relative_to(ROOT)} is missing: run `make vendor` (scripts/vendor-js.sh)")
    version = json.loads(pkg.read_text())["version"]
    if version != constants.PYODIDE_VERSION:
        fail(f"npm pyodide {version} in {PYODIDE_SRC.relative_to(ROOT)}, but jupyterlite-pyodide-kernel "
             f"is built for {constants.PYODIDE_VERSION}: change PYODIDE_VERSION in scripts/vendor-js.sh")
    lock = json.loads((PYODIDE_SRC / "pyodide-lock.json").read_text())
    py = ".".join(lock["info"]["python"].split(".")[:2])
    if py != constants.PYODIDE_PYTHON_VERSION:
        fail(f"pyodide {version} embeds Python {py}, the kernel expects {constants.PYODIDE_PYTHON_VERSION}")
    return lock


# -- wheels -----------------------------------------------------------------------------------

def pypi_wheels(python: str) -> list:
    """The pinned pure-Python wheels of lite/requirements-pyodide.txt (hash-checked)."""
    dest = CACHE / "wheels"
    dest.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--require-hashes", "--no-deps", "--only-binary=:all:", "--implementation", "py",
         "--abi", "none", "--platform", "any", "--python-version", python,
         "-r", str(LITE / "requirements-pyodide.txt"), "-d", str(dest)])
    pins = {}
    for line in (LITE / "requirements-pyodide.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line.split(" --hash", 1)[0])
            pins[canonicalize_name(req.name)] = str(req.specifier).lstrip("=")
    wheels = []
    for whl in sorted(dest.glob("*.whl")):
        name, version = wheel_name_version(whl)
        if pins.get(name) == version:
            wheels.append(whl)
    missing = set(pins) - {wheel_name_version(w)[0] for w in wheels}
    if missing:
        fail(f"pip download produced no wheel for {sorted(missing)}")
    return wheels


def kernel_wheels() -> list:
    """piplite, pyodide-kernel and the ipykernel / widgetsnbextension shims, as shipped in
    the installed jupyterlite-pyodide-kernel."""
    pypi = Path(sys.prefix) / "share/jupyter/labextensions/@jupyterlite/pyodide-kernel-extension/static/pypi"
    out = []
    for stem in KERNEL_WHEELS:
        found = sorted(pypi.glob(f"{stem}*-py3-none-any.whl"))
        if len(found) != 1:
            fail(f"expected one {stem} wheel in {pypi}, found {[f.name for f in found]}")
        out += found
    return out


def refmodel_wheel() -> Path:
    """The refmodel wheel, built from this checkout (pip wheel --no-deps .)."""
    dest = CACHE / "refmodel"
    shutil.rmtree(dest, ignore_errors=True)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-cache-dir", str(ROOT), "-w", str(dest)], cwd=ROOT)
    # setuptools leaves build/ behind in the checkout; it is not ours to keep.
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    (whl,) = dest.glob("refmodel-*.whl")
    return whl


def startup_wheel() -> Path:
    """workbook_lite (lite/kernel/): the kernel's start-up hook, packed as a wheel."""
    src = LITE / "kernel"
    name, version = "workbook-lite", "1.0"
    dist = f"{name.replace('-', '_')}-{version}.dist-info"
    files = {}
    for p in sorted((src / "workbook_lite").rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            files[str(p.relative_to(src))] = p.read_bytes()
    files[f"{dist}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                 "Summary: The workbook's start-up hook for its JupyterLite kernel\n"
                                 "License: GPL-2.0-only\n").encode()
    files[f"{dist}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: scripts/build-lite.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{dist}/top_level.txt"] = b"workbook_lite\n"
    record = io.StringIO()
    w = csv.writer(record, lineterminator="\n")
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        w.writerow([path, f"sha256={digest}", len(data)])
    w.writerow([f"{dist}/RECORD", "", ""])
    files[f"{dist}/RECORD"] = record.getvalue().encode()
    dest = CACHE / "startup"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    whl = dest / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return whl


def precompile(wheels: list) -> list:
    """The wheels with bytecode for the site's Python added beside their sources (see
    scripts/lite-pycompile.mjs): Pyodide's own packages ship compiled, PyPI's do not, and
    compiling IPython in the browser at every kernel start costs seconds.  Cached in
    .cache/lite/pyc by the wheel's contents, so only a changed refmodel is recompiled."""
    version = json.loads((PYODIDE_SRC / "package.json").read_text())["version"]
    cache = CACHE / "pyc" / f"{version}-runtime-paths"       # bytecode naming the run-time file paths
    out, todo = [], {}
    for whl in wheels:
        target = cache / content_key(whl) / whl.name
        out.append(target)
        if not target.is_file():
            todo[whl] = target
    for old in cache.glob("*"):                   # earlier refmodels
        if old not in {t.parent for t in out}:
            shutil.rmtree(old, ignore_errors=True)
    if not todo:
        return out
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        fail("node is needed to compile the kernel's wheels (it comes with npm: apt-get install npm)")
    work = CACHE / "pyc-work"
    shutil.rmtree(work, ignore_errors=True)
    for whl in todo:
        with zipfile.ZipFile(whl) as z:
            z.extractall(work / whl.name)
    site = f"/lib/python{runtime_python()}/site-packages"
    r = subprocess.run([node, str(ROOT / "scripts" / "lite-pycompile.mjs"), str(PYODIDE_SRC), str(work),
                        json.dumps({whl.name: site for whl in todo})], capture_output=True, text=True)
    if r.returncode:
        fail(f"compiling the wheels under Pyodide failed:\n{(r.stdout + r.stderr)[-3000:]}")
    report = json.loads(r.stdout.strip().splitlines()[-1])
    for whl, target in todo.items():
        repack_with_bytecode(whl, work / whl.name, target)
    shutil.rmtree(work, ignore_errors=True)
    step(f"compiled {report['compiled']} modules of {len(todo)} wheels to bytecode"
         + (f" ({len(report['failed'])} did not compile and stay source only)" if report["failed"] else ""))
    return out


def runtime_python() -> str:
    """The site's Python as major.minor ("3.14"), from the vendored runtime's lock file."""
    info = json.loads((PYODIDE_SRC / "pyodide-lock.json").read_text())["info"]
    return ".".join(info["python"].split(".")[:2])


def stdlib_with_bytecode() -> Path:
    """Pyodide's python_stdlib.zip with bytecode beside every module (name.pyc next to
    name.py, where zipimport looks first; unchecked hash-based, PEP 552, compiled by the
    site's own Python as for the wheels).  The npm package ships the standard library as
    source only, and zipimport cannot write bytecode back, so every tab compiled each stdlib
    module it imported (asyncio, inspect, ast, email, ... for IPython and micropip) again:
    about half of the kernel's start-up CPU time.  The sources stay (tracebacks).  Cached in
    .cache/lite/pyc-stdlib by the upstream zip's digest."""
    version = json.loads((PYODIDE_SRC / "package.json").read_text())["version"]
    src = PYODIDE_SRC / "python_stdlib.zip"
    key = hashlib.sha256(src.read_bytes()).hexdigest()[:20]
    target = CACHE / "pyc-stdlib" / f"{version}-runtime-paths" / key / "python_stdlib.zip"
    if target.is_file():
        return target
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        fail("node is needed to compile the standard library (it comes with npm: apt-get install npm)")
    work = CACHE / "pyc-work-stdlib"
    shutil.rmtree(work, ignore_errors=True)
    with zipfile.ZipFile(src) as z:
        z.extractall(work / "stdlib")
    zipped = "/lib/python" + runtime_python().replace(".", "") + ".zip"     # where Pyodide mounts it
    r = subprocess.run([node, str(ROOT / "scripts" / "lite-pycompile.mjs"), str(PYODIDE_SRC), str(work),
                        json.dumps({"stdlib": zipped})], capture_output=True, text=True)
    if r.returncode:
        fail(f"compiling the standard library under Pyodide failed:\n{(r.stdout + r.stderr)[-3000:]}")
    report = json.loads(r.stdout.strip().splitlines()[-1])
    root = work / "stdlib"
    shutil.rmtree(target.parent.parent, ignore_errors=True)          # older zips of this version
    target.parent.mkdir(parents=True)
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            out.writestr(info, z.read(info), compress_type=info.compress_type)
        for pyc in sorted(root.rglob("__pycache__/*.pyc")):
            module = pyc.name.split(".", 1)[0]                      # name.cpython-3XX.pyc
            name = (pyc.parent.parent.relative_to(root) / f"{module}.pyc").as_posix()
            out.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), pyc.read_bytes(),
                         zipfile.ZIP_DEFLATED)
    tmp.replace(target)
    shutil.rmtree(work, ignore_errors=True)
    step(f"compiled {report['compiled']} standard-library modules to bytecode"
         + (f" ({len(report['failed'])} did not compile and stay source only)" if report["failed"] else ""))
    return target


def content_key(whl: Path) -> str:
    """A digest of a wheel's file names and contents (not of its zip timestamps)."""
    h = hashlib.sha256()
    with zipfile.ZipFile(whl) as z:
        for info in sorted(z.infolist(), key=lambda i: i.filename):
            h.update(info.filename.encode() + b"\0" + z.read(info) + b"\0")
    return h.hexdigest()[:20]


def repack_with_bytecode(whl: Path, unpacked: Path, target: Path) -> None:
    """target = whl plus every __pycache__/*.pyc found in unpacked, listed in its RECORD."""
    with zipfile.ZipFile(whl) as z:
        entries = [(i, z.read(i)) for i in z.infolist() if not i.is_dir()]
    record_name = next(i.filename for i, _ in entries if i.filename.endswith(".dist-info/RECORD"))
    pycs = sorted(p for p in unpacked.rglob("*.pyc") if p.parent.name == "__pycache__")
    extra = [(p.relative_to(unpacked).as_posix(), p.read_bytes()) for p in pycs]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in entries:
            if info.filename == record_name:
                lines = data.decode().rstrip("\n").split("\n")
                for name, payload in extra:
                    digest = base64.urlsafe_b64encode(hashlib.sha256(payload).digest()).rstrip(b"=").decode()
                    lines.insert(-1, f"{name},sha256={digest},{len(payload)}")
                data = ("\n".join(lines) + "\n").encode()
            z.writestr(info, data, zipfile.ZIP_DEFLATED)
        for name, payload in extra:
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), payload, zipfile.ZIP_DEFLATED)
    tmp.replace(target)


def wheel_name_version(whl: Path) -> tuple:
    name, version = whl.name.split("-")[:2]
    return canonicalize_name(name), version


# -- the lock file ----------------------------------------------------------------------------

def wheel_entry(whl: Path, env: dict) -> tuple:
    """(lock entry, raw requirements) for one wheel: name, version, imports, sha256."""
    with zipfile.ZipFile(whl) as z:
        names = z.namelist()
        meta_path = next(n for n in names if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        meta = Parser().parsestr(z.read(meta_path).decode("utf-8"))
        top = [n for n in names if n.endswith(".dist-info/top_level.txt") and n.count("/") == 1]
        if top:
            imports = z.read(top[0]).decode().split()
        else:                                   # from the file layout
            imports = sorted({n.split("/")[0].removesuffix(".py") for n in names
                              if not n.split("/")[0].endswith((".dist-info", ".data"))
                              and (n.count("/") >= 1 or n.endswith(".py"))})
    imports = [i for i in imports if i.isidentifier() and not i.startswith("_")] or imports
    depends = []
    for spec in meta.get_all("Requires-Dist") or []:
        req = Requirement(spec)
        if req.marker is None or req.marker.evaluate(env):
            depends.append(req)
    entry = {
        "name": canonicalize_name(meta["Name"]),
        "version": meta["Version"],
        "file_name": whl.name,
        "install_dir": "site",
        "sha256": hashlib.sha256(whl.read_bytes()).hexdigest(),
        "package_type": "package",
        "imports": imports,
        "depends": [],
        "unvendored_tests": False,
    }
    return entry, depends


def write_lock(upstream: dict, wheels: list, out: Path) -> dict:
    """Our pyodide-lock.json: upstream's `info`, and exactly our wheels.  Every dependency a
    wheel declares (for Pyodide's platform) must be one of them, at a version it accepts."""
    info = upstream["info"]
    env = default_environment()
    env.update(python_version=".".join(info["python"].split(".")[:2]), python_full_version=info["python"],
               sys_platform="emscripten", platform_system="Emscripten", platform_machine="wasm32",
               os_name="posix", implementation_name="cpython", platform_python_implementation="CPython",
               extra="")
    packages, wanted = {}, {}
    for whl in wheels:
        entry, depends = wheel_entry(whl, env)
        if entry["name"] in packages:
            fail(f"two wheels for {entry['name']}: {packages[entry['name']]['file_name']}, {whl.name}")
        packages[entry["name"]] = entry
        wanted[entry["name"]] = depends
    problems = []
    for name, depends in wanted.items():
        for req in depends:
            dep = canonicalize_name(req.name)
            if dep not in packages:
                problems.append(f"{name} needs {req}, which lite/requirements-pyodide.txt does not pin")
            elif not req.specifier.contains(packages[dep]["version"], prereleases=True):
                problems.append(f"{name} needs {req}, the site has {dep} {packages[dep]['version']}")
            else:
                packages[name]["depends"].append(dep)
    if problems:
        fail("the kernel's wheels do not fit together:\n  " + "\n  ".join(problems))
    lock = {"info": info, "packages": dict(sorted(packages.items()))}
    out.write_text(json.dumps(lock, indent=1, sort_keys=True) + "\n")
    return lock


# -- contents ---------------------------------------------------------------------------------

def toc_notebooks() -> list:
    """Every notebook of _toc.yml (chapters and exercises), relative to the repo root."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]
    return [f + ".ipynb" for f in files if (ROOT / (f + ".ipynb")).is_file()]


def stage_contents(dest: Path) -> list:
    """Copy the notebooks (outputs cleared, kernel set to Pyodide's) and the data files they
    read to dest, at their paths in the repository."""
    shutil.rmtree(dest, ignore_errors=True)
    notebooks = toc_notebooks()
    for rel in notebooks:
        nb = nbformat.read(ROOT / rel, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            cell.get("metadata", {}).pop("execution", None)
        # Saved widget state belongs to the outputs just cleared.
        nb.metadata.pop("widgets", None)
        nb.metadata["kernelspec"] = {"name": "python", "display_name": "Python (Pyodide)",
                                     "language": "python"}
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
    for rel in DATA_FILES:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    return notebooks


# -- the site ---------------------------------------------------------------------------------

def lite_config(lock: dict) -> dict:
    """lite/jupyter-lite.json, checked against the lock: every package loaded at start is in
    it, and the start-up hook's folder is where Pyodide installs it."""
    config = json.loads((LITE / "jupyter-lite.json").read_text())
    kernel = config["jupyter-config-data"]["litePluginSettings"][KERNEL_PLUGIN]
    opts = kernel["loadPyodideOptions"]
    missing = [p for p in opts["packages"] if canonicalize_name(p) not in lock["packages"]]
    if missing:
        fail(f"lite/jupyter-lite.json loads {missing} at start, which are not in the lock file")
    py = ".".join(lock["info"]["python"].split(".")[:2])
    want = f"/lib/python{py}/site-packages/workbook_lite/ipython"
    if opts.get("env", {}).get("IPYTHONDIR") != want:
        fail(f"lite/jupyter-lite.json: loadPyodideOptions.env.IPYTHONDIR must be {want}")
    if "://" in json.dumps(kernel):
        fail("lite/jupyter-lite.json names a URL with a host: the site must load only its own files")
    return config


def jupyter_lite_build(contents: Path, out: Path) -> None:
    """jupyter lite build in WORK with our configuration, only our extensions, into out."""
    labext = Path(sys.prefix) / "share" / "jupyter" / "labextensions"
    exts = [labext / e for e in EXTENSIONS]
    for e in exts:
        if not (e / "package.json").is_file():
            fail(f"no labextension {e}: run `make setup` (requirements.txt)")
    for name in ("jupyter_lite_config.json", "jupyter-lite.json"):
        shutil.copy2(LITE / name, WORK / name)
    built = WORK / "_output"
    shutil.rmtree(built, ignore_errors=True)
    # jupyter lite keeps a task database; with a fresh output folder it may still skip the
    # step that merges our jupyter-lite.json (seen: the pyodideUrl went missing), so always
    # build from scratch (about 4 s).
    for db in WORK.glob(".jupyterlite.doit.db*"):
        db.unlink()
    run([str(Path(sys.executable).with_name("jupyter")), "lite", "build", "--lite-dir", str(WORK),
         "--contents", str(contents), "--output-dir", str(built),
         *[f"--LiteBuildConfig.federated_extensions={e}" for e in exts]], cwd=WORK)
    check_built_config(built)
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(built), str(out))


def check_built_config(site: Path) -> None:
    """The built jupyter-lite.json must carry our kernel settings: without them the kernel
    falls back to Pyodide's CDN."""
    want = json.loads((LITE / "jupyter-lite.json").read_text())["jupyter-config-data"]["litePluginSettings"][KERNEL_PLUGIN]
    got = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    got = got.get("litePluginSettings", {}).get(KERNEL_PLUGIN, {})
    for key, value in want.items():
        if got.get(key) != value:
            fail(f"the built jupyter-lite.json lost {KERNEL_PLUGIN} {key} (got {got.get(key)!r})")


def add_favicons(site: Path) -> None:
    """Give each page of the app the tab icons that JupyterLab's own server page has (the
    idle one, and the busy one its status plugin swaps in).  jupyterlite-core's pages have
    none, so the browser asks for /favicon.ico at the server's root, which the book does
    not serve: a 404 on every page (and a console error)."""
    icons = site / "static" / "favicons"
    if not (icons / "favicon.ico").is_file():
        fail(f"no {icons.relative_to(site)}/favicon.ico in the built site")
    pages = [site / "index.html", *sorted(site.glob("*/index.html"))]
    for page in pages:
        html = page.read_text(encoding="utf-8")
        if 'rel="icon"' in html:
            continue
        rel = "." if page.parent == site else ".."
        links = (f'<link rel="icon" type="image/x-icon" href="{rel}/static/favicons/favicon.ico" class="idle favicon">\n'
                 f'    <link rel="" type="image/x-icon" href="{rel}/static/favicons/favicon-busy-1.ico" class="busy favicon">\n'
                 '    ')
        head = html.find("<head>")
        if head < 0:
            fail(f"{page.relative_to(site)} has no <head>: cannot place the tab icon")
        head += len("<head>")
        page.write_text(html[:head] + "\n    " + links.rstrip() + html[head:], encoding="utf-8")


def check_widgets_match() -> None:
    """The kernel's ipywidgets must speak to the front end's jupyterlab-manager: same majors."""
    from importlib.metadata import version
    front = version("jupyterlab_widgets")
    pins = (LITE / "requirements-pyodide.txt").read_text()
    kernel = re.search(r"^jupyterlab-widgets==(\S+)", pins, re.M).group(1)
    if front.split(".")[0] != kernel.split(".")[0]:
        fail(f"jupyterlab_widgets {front} in .venv (the site's front end) but {kernel} pinned for the kernel "
             f"in lite/requirements-pyodide.txt: pin the same major version (and the ipywidgets beside it)")
    if front != kernel:
        step(f"note: jupyterlab_widgets {front} in .venv, {kernel} in the kernel (same major version)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "_build" / "html" / "lite"), help="where the site goes")
    args = ap.parse_args()
    out = Path(args.out).resolve()

    upstream = pyodide_runtime()
    python = ".".join(upstream["info"]["python"].split(".")[:2])
    step(f"pyodide {json.loads((PYODIDE_SRC / 'package.json').read_text())['version']} (Python {upstream['info']['python']}) from {PYODIDE_SRC.relative_to(ROOT)}")
    check_widgets_match()
    WORK.mkdir(parents=True, exist_ok=True)

    wheels = pypi_wheels(python)
    step(f"{len(wheels)} pinned wheels from PyPI (hash-checked, cached in .cache/lite/wheels)")
    wheels += kernel_wheels()
    wheels.append(refmodel_wheel())
    wheels.append(startup_wheel())
    step(f"refmodel and workbook_lite wheels built from the checkout; {len(wheels)} wheels in all")
    wheels = precompile(wheels)

    notebooks = stage_contents(WORK / "contents")
    step(f"{len(notebooks)} notebooks staged (outputs cleared) and {len(DATA_FILES)} data files")

    staging_static = WORK / "pyodide"
    shutil.rmtree(staging_static, ignore_errors=True)
    shutil.copytree(PYODIDE_SRC, staging_static,
                    ignore=shutil.ignore_patterns("pyodide-lock.json", "package.json"))
    shutil.copy2(stdlib_with_bytecode(), staging_static / "python_stdlib.zip")
    for whl in wheels:
        shutil.copy2(whl, staging_static / whl.name)
    lock = write_lock(upstream, wheels, staging_static / "pyodide-lock.json")
    lite_config(lock)
    step(f"pyodide-lock.json: {len(lock['packages'])} packages, all local")

    jupyter_lite_build(WORK / "contents", out)
    add_favicons(out)
    shutil.copytree(staging_static, out / "static" / "pyodide")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    step(f"site ready in {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} "
         f"({size / 2**20:.1f} MiB); serve _build/html over HTTP, e.g. "
         "`python -m http.server -d _build/html`, and open lite/")


if __name__ == "__main__":
    main()
