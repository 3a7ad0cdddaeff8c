"""Talking to devices: SNMP and SSH collectors that return pure :class:`Facts` records.

Nothing in this package touches the database or imports :mod:`agent` or :mod:`planner`.
"""
