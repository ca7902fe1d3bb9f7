"""The composition root: settings, the catalog file, and the runtime that wires everything."""
