"""Training, evaluation and export of the CP-VTON models on VITON-format data (imports the `vton` library)."""
