"""Persistence and the small value types every layer shares: settings, clock, enums, tables."""
