"""ptymux: a terminal multiplexer whose pty sessions outlive the terminal they started in."""

__version__ = "0.1.0"
