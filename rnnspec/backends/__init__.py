"""Backends turn a checked model into something that runs; each imports its framework lazily."""
