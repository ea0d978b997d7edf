"""The ptymux server: a per-user daemon that owns every session's pty and virtual screen."""
