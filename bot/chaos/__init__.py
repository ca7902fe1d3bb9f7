"""Fault runs against real processes: `releasebot chaos` and tests/faults (see README, "What
survives what")."""
