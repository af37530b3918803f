"""Domain services: they take a session and plain values, and never commit."""
