// What the lite site's kernel start costs on the Python side, step by step, under Node (the
// same Pyodide, wheels and lock file the browser loads, from _build/html/lite/static/pyodide).
//
//     node bench/lite-kernel.mjs [_build/html/lite]
//
// Prints, per step, the wall time and the process's CPU time (user + system): on a shared
// machine the CPU column is the one to compare between builds.  The steps follow what the
// kernel's web worker does (jupyterlite-pyodide-kernel's worker.js): loadPyodide, the
// packages of jupyter-lite.json's loadPyodideOptions, then the imports of its start
// (piplite, IPython via pyodide_kernel) and of a chapter's first cell (refmodel, ipywidgets).
// Then, in a fresh Pyodide, each start package's load (download from disk, sha256, unpack)
// with what it pulls in.  Not in here: the JupyterLab app in the page, the web worker's own
// start and the browser's caching of pyodide.asm.wasm's compiled code (bench/lite.py
// measures the whole start in Chromium).
import { pathToFileURL } from "node:url";
import path from "node:path";
import fs from "node:fs";

const site = path.resolve(process.argv[2] || "_build/html/lite");
const dir = path.join(site, "static", "pyodide") + "/";
const config = JSON.parse(fs.readFileSync(path.join(site, "jupyter-lite.json")));
const kernel = config["jupyter-config-data"].litePluginSettings["@jupyterlite/pyodide-kernel-extension:kernel"];
const opts = kernel.loadPyodideOptions;
const { loadPyodide } = await import(pathToFileURL(dir + "pyodide.mjs").href);
const quiet = { messageCallback: () => {} };

function clock() {
  const t0 = performance.now(), c0 = process.cpuUsage();
  let t = t0, c = c0;
  return (what) => {
    const t1 = performance.now(), c1 = process.cpuUsage();
    const cpu = (c1.user - c.user + c1.system - c.system) / 1e6;
    console.log(`  ${what.padEnd(44)} ${((t1 - t) / 1000).toFixed(2).padStart(7)} ${cpu.toFixed(2).padStart(7)}`);
    t = t1; c = c1;
    return cpu;
  };
}

console.log(`kernel start, as the web worker does it (${site})`);
console.log(`  ${"step".padEnd(44)} ${"wall s".padStart(7)} ${"cpu s".padStart(7)}`);
let mark = clock(), total = 0;
const py = await loadPyodide({ indexURL: dir, env: opts.env, stdout: () => {}, stderr: () => {} });
total += mark("loadPyodide (wasm compile, Python init)");
await py.loadPackage(opts.packages, quiet);
total += mark(`load ${opts.packages.length} start packages (+ dependencies)`);
for (const stmt of ["import piplite.piplite", "import pyodide_kernel", "import refmodel", "import ipywidgets"]) {
  await py.runPythonAsync(stmt);
  total += mark(stmt);
}
console.log(`  ${"total".padEnd(44)} ${"".padStart(7)} ${total.toFixed(2).padStart(7)}`);

console.log("each start package on its own, in a fresh Pyodide (with the dependencies not loaded before it)");
const py2 = await loadPyodide({ indexURL: dir, stdout: () => {}, stderr: () => {} });
mark = clock();
for (const name of new Set(["jedi", "pygments", "ipython", ...opts.packages])) {
  if (name in py2.loadedPackages) continue;              // came in as a dependency above
  const before = new Set(Object.keys(py2.loadedPackages));
  await py2.loadPackage([name], quiet);
  const pulled = Object.keys(py2.loadedPackages).filter((n) => !before.has(n) && n !== name);
  mark(`load ${name}` + (pulled.length ? ` (+${pulled.length} deps)` : ""));
}
