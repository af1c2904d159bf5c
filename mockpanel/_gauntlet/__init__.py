"""mockpanel gauntlet: a client's own command run against fresh mock panels, dialect by scenario (docs/gauntlet.md)."""
