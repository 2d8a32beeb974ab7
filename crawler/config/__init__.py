"""Configuration: seed and profile files into validated objects, and the one table of defaults."""
