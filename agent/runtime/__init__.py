"""The running daemon: roles, scheduling of polls and periodic jobs, leases."""
