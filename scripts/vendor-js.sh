#!/usr/bin/env bash
# Fetch the pinned JavaScript that the built book needs, so that no page loads
# anything from a CDN.  Run by `make book` (via the stamp in the Makefile).
#
#   require.js                   -> book/_static/vendor/requirejs/require.js
#   @jupyter-widgets/html-manager -> book/_static/vendor/html-manager/  (embed-amd.js + chunks + fonts)
#   MathJax 3 (tex-mml-chtml)    -> book/_static/vendor/mathjax/
#   pyodide (the runtime only)   -> lite/vendor/pyodide/   (for `make lite`; kept out of
#                                   book/_static so that Sphinx does not copy 13 MB into
#                                   every page's _static: the lite site serves it itself)
#
# Each package's licence is copied next to it.  Tarballs are cached in
# .cache/npm/ (git-ignored), so a rebuild does not touch the network.
# Bump a version here and `make book` refetches (the stamp depends on this file).
set -euo pipefail

HTML_MANAGER_VERSION=1.0.6   # the version myst-nb loads by default; matches ipywidgets 8
REQUIREJS_VERSION=2.3.7
MATHJAX_VERSION=3.2.2
# The Pyodide that jupyterlite-pyodide-kernel (requirements.txt) is built for: its
# constants.PYODIDE_VERSION; scripts/build-lite.py refuses a mismatch.  Python 3.14 inside.
PYODIDE_VERSION=314.0.6

root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache/npm"
dest="$root/book/_static/vendor"
mkdir -p "$cache"

fetch() {  # fetch NAME VERSION -> prints the path of the cached tarball
    local name=$1 version=$2
    local tarball="$cache/$(echo "${name#@}" | tr / -)-$version.tgz"
    if [ ! -s "$tarball" ]; then
        command -v npm >/dev/null || { echo "vendor-js: npm is needed to fetch $name@$version (apt-get install npm)" >&2; exit 1; }
        (cd "$cache" && npm pack --silent "$name@$version" >/dev/null)
    fi
    [ -s "$tarball" ] || { echo "vendor-js: npm pack did not produce $tarball" >&2; exit 1; }
    echo "$tarball"
}

unpack() {  # unpack TARBALL -> prints a fresh directory holding package/
    local tmp
    tmp=$(mktemp -d "$cache/unpack.XXXXXX")
    tar -xzf "$1" -C "$tmp"
    echo "$tmp"
}

rm -rf "$dest.new"
mkdir -p "$dest.new"

# require.js (MIT)
t=$(unpack "$(fetch requirejs "$REQUIREJS_VERSION")")
mkdir -p "$dest.new/requirejs"
cp "$t/package/require.js" "$dest.new/requirejs/require.js"
# The npm package ships no LICENSE file; its package.json says MIT and require.js's
# header names the copyright holder, so write the standard MIT text with that line.
{
    echo "RequireJS $REQUIREJS_VERSION -- npm package requirejs@$REQUIREJS_VERSION, \"license\": \"MIT\"."
    echo "Notice from the header of require.js:"
    sed -n '2,3p' "$t/package/require.js"
    echo
    cat <<'MIT'
MIT License

Copyright jQuery Foundation and other contributors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
MIT
} > "$dest.new/requirejs/LICENSE"
rm -rf "$t"

# @jupyter-widgets/html-manager (BSD-3-Clause): the AMD embedder and its lazily loaded chunks
t=$(unpack "$(fetch @jupyter-widgets/html-manager "$HTML_MANAGER_VERSION")")
mkdir -p "$dest.new/html-manager"
( cd "$t/package/dist" && cp embed-amd.js ./*.embed.js ./*.LICENSE.txt \
      ./*.woff ./*.woff2 ./*.ttf ./*.eot ./*.svg "$dest.new/html-manager/" )
cp "$t/package/LICENSE" "$dest.new/html-manager/LICENSE"
rm -rf "$t"

# MathJax 3 (Apache-2.0): the combined TeX+MathML input / CHTML output component and its fonts
t=$(unpack "$(fetch mathjax "$MATHJAX_VERSION")")
mkdir -p "$dest.new/mathjax/output/chtml"
cp "$t/package/es5/tex-mml-chtml.js" "$dest.new/mathjax/"
cp -r "$t/package/es5/output/chtml/fonts" "$dest.new/mathjax/output/chtml/"
cp "$t/package/LICENSE" "$dest.new/mathjax/LICENSE"
rm -rf "$t"

cat > "$dest.new/README.txt" <<TXT
Fetched by scripts/vendor-js.sh from the npm registry; not part of the git tree.
requirejs@$REQUIREJS_VERSION (MIT), @jupyter-widgets/html-manager@$HTML_MANAGER_VERSION (BSD-3-Clause),
mathjax@$MATHJAX_VERSION (Apache-2.0).  Each directory holds its package's LICENSE.
TXT

rm -rf "$dest"
mv "$dest.new" "$dest"
echo "vendor-js: book/_static/vendor ready ($(du -sh "$dest" | cut -f1))"

# Pyodide (MPL-2.0): the WebAssembly CPython the lite site's kernel runs in.  The npm
# package holds the runtime (loader, wasm, standard library) and the upstream lock file
# (pyodide-lock.json); the packages that lock file names are not in it, which is why
# scripts/build-lite.py writes a lock file of its own over local wheels.
pyodide_dest="$root/lite/vendor/pyodide"
t=$(unpack "$(fetch pyodide "$PYODIDE_VERSION")")
rm -rf "$pyodide_dest.new"
mkdir -p "$pyodide_dest.new"
( cd "$t/package" && cp pyodide.mjs pyodide.asm.mjs pyodide.asm.wasm python_stdlib.zip \
      pyodide-lock.json package.json "$pyodide_dest.new/" )
{
    echo "Pyodide $PYODIDE_VERSION -- npm package pyodide@$PYODIDE_VERSION, \"license\": \"MPL-2.0\" (package.json)."
    echo "Source code: the Pyodide project (see \"repository\" in package.json)."
    echo
    if [ -r /usr/share/common-licenses/MPL-2.0 ]; then cat /usr/share/common-licenses/MPL-2.0; else
        echo "This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0."
        echo "If a copy of the MPL was not distributed with this file, You can obtain one at"
        echo "http://mozilla.org/MPL/2.0/."
    fi
} > "$pyodide_dest.new/LICENSE"
rm -rf "$t"
rm -rf "$pyodide_dest"
mv "$pyodide_dest.new" "$pyodide_dest"
echo "vendor-js: lite/vendor/pyodide ready ($(du -sh "$pyodide_dest" | cut -f1))"
