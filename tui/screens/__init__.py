"""The TUI's screens: start, run, settings, and the small modal dialogs."""
