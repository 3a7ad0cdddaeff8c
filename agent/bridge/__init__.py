"""The bridge between the store and the pure planner: estates out, plans back in; lifecycle data
fetched from endoflife.date into the store."""
