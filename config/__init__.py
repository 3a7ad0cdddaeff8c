"""The data files cloudward ships (rules, prices, lifecycle catalogue, demo estate).

Installed as the package ``cloudward_data`` (see ``package-dir`` in pyproject.toml) and found
through ``importlib.resources`` by ``collectors.datadir``. Nothing here is imported as code.
"""
