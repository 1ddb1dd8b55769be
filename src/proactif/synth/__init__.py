"""Synthetic commune generator: realistic, deterministic by seed, a million residents in minutes."""
