"""CloudOptima's engine: a small kernel (`core.kernel`) with one folder per feature above it.

`core.app.create_core` builds the front door and registers every feature's commands into it.
"""
