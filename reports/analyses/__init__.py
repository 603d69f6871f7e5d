"""The analysis layer: statistics over the curves of a run (shape, steps, guidance, calibration, fits)."""
