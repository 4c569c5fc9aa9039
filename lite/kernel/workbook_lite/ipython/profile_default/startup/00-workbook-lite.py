# Run by IPython when the lite site's kernel starts (IPYTHONDIR is set in jupyter-lite.json).
# Kept to one call so that it leaves no names behind in the notebook's namespace.
__import__("workbook_lite").install(get_ipython())  # noqa: F821 (IPython provides get_ipython)
