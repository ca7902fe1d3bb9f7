"""The `releasebot` command line (typer): `main` is its entry point, each module a group."""
