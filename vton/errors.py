"""Errors that carry a one-line message meant for the user (CLI stderr, app gr.Error)."""


class VtonError(Exception):
    """Base class: ``str(err)`` is a complete one-line message."""


class InputError(VtonError, ValueError):
    """Bad user input: unreadable file, no person in the photo, no garment found, wrong-size mask."""


class ModelLoadError(VtonError, RuntimeError):
    """A model or checkpoint that cannot be loaded: missing, offline, wrong shapes, wrong format."""
