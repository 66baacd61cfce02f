"""Root pytest configuration: load the jupytext collector for chapters."""

pytest_plugins = ("tests.nbval_jupytext",)
