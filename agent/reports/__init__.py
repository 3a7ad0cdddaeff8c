"""The board report and exports."""
