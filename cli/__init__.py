"""The ``radar`` command line: the top of the import graph, above ``streams`` and ``infra``."""
