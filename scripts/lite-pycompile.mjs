// Compile the Python sources of unpacked wheels to bytecode with the lite site's own Python
// (Pyodide, run under Node), for scripts/build-lite.py.
//
//     node scripts/lite-pycompile.mjs PYODIDE_DIR WORK_DIR '{"FOLDER": "/runtime/prefix", ...}'
//
// WORK_DIR holds one folder per unpacked wheel (or the unpacked standard library).  Every .py
// outside test folders gets a __pycache__/<name>.cpython-3XX.pyc beside it, in the "unchecked
// hash" form (PEP 552), which the import system uses without comparing timestamps: the
// kernel then starts without compiling IPython and its friends first.  The sources stay, for
// tracebacks and inspect.getsource.  The JSON argument names, per folder of WORK_DIR, where
// its files are at run time (site-packages, or the stdlib zip): the bytecode records that
// path as the file name, so that tracebacks name the file the kernel has, not this build's
// folder.  Prints one line of JSON: {"compiled": N, "failed": [paths]}.
import { pathToFileURL } from "node:url";
import path from "node:path";

const [pyodideDir, workDir, prefixes] = process.argv.slice(2);
if (!pyodideDir || !workDir || !prefixes) {
  console.error("usage: node scripts/lite-pycompile.mjs PYODIDE_DIR WORK_DIR PREFIXES_JSON");
  process.exit(2);
}
const { loadPyodide } = await import(pathToFileURL(path.resolve(pyodideDir, "pyodide.mjs")).href);
const py = await loadPyodide({ indexURL: path.resolve(pyodideDir) + "/" });
py.FS.mkdirTree("/work");
py.FS.mount(py.FS.filesystems.NODEFS, { root: path.resolve(workDir) }, "/work");
py.globals.set("prefixes_json", prefixes);
const out = await py.runPythonAsync(`
import json, os, py_compile, re, warnings
prefixes = json.loads(prefixes_json)
warnings.simplefilter("ignore")                 # SyntaxWarnings in some packages' old code
skip = re.compile(r"(^|/)(tests?|testing)(/|$)")
compiled, failed = 0, []
for top, dirs, files in os.walk("/work"):
    dirs[:] = [d for d in dirs if d != "__pycache__"]
    rel = os.path.relpath(top, "/work")
    if skip.search(rel):
        continue
    for f in files:
        if f.endswith(".py"):
            src = os.path.join(top, f)
            try:
                folder, _, inner = os.path.relpath(src, "/work").partition("/")
                py_compile.compile(src, dfile=prefixes[folder] + "/" + inner, doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
                compiled += 1
            except py_compile.PyCompileError:
                failed.append(os.path.relpath(src, "/work"))
json.dumps({"compiled": compiled, "failed": failed})
`);
console.log(out);
