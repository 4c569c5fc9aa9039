// Tell require.js where the vendored Jupyter widget manager lives, before embed-amd.js runs.
//
// embed-amd.js defines its AMD modules by name ("@jupyter-widgets/base", ...).  Webpack
// inside it derives the URL of its fonts and lazily loaded chunks from where require.js
// thinks those modules live, which by default is next to the page
// (book/@jupyter-widgets/...: 404).  Mapping the names to _static/vendor/html-manager/
// makes every such URL point at the files scripts/vendor-js.sh put there.
(function () {
  var me = document.currentScript && document.currentScript.src;
  if (!me || typeof require === "undefined" || !require.config) { return; }
  var base = me.slice(0, me.lastIndexOf("/") + 1) + "vendor/html-manager/";
  require.config({
    paths: {
      "@jupyter-widgets/base": base + "base",
      "@jupyter-widgets/controls": base + "controls",
      "@jupyter-widgets/html-manager": base + "html-manager",
      "@jupyter-widgets/html-manager/dist": base.slice(0, -1)
    }
  });
})();
