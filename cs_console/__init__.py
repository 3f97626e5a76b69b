"""cs-console: the terminal operations console for CustomerSignal."""

__version__ = "0.1.0"
