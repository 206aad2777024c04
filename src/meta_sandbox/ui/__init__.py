"""The sandbox's simulated phone (``/``) and the OAuth consent page templates."""
