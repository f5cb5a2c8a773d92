"""callplay: play audio into live phone calls across providers."""

__version__ = "0.1.0"
