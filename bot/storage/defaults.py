"""The database used when DATABASE_URL is not set (kept apart from database.py so that reading
the settings does not import SQLAlchemy)."""

DEFAULT_URL = "sqlite:///releasebot.db"
