"""Inventory: targets, polling, pending writes, dependencies, the asset graph, imports."""
