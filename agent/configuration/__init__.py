"""The agent's configuration file (pydantic) and secret references."""
