"""From the store to the pure planner and back; lifecycle data sync."""
