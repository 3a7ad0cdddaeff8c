"""The store: SQLModel tables and the Store that writes Facts into them."""

from agent.store.database import Store, utcnow

__all__ = ["Store", "utcnow"]
