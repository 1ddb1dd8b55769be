"""Registry: people, households, addresses, contacts, preferences, consents, documents, imports."""
