"""The pytest plugin (entry point ``pytest11``): being written; loads nothing yet."""
