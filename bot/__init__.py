"""The edges: mail in and out, the scheduler, the command line."""

__version__ = "0.1.0"
