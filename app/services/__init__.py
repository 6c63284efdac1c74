"""Use cases with transaction boundaries. Load, decide (engine), write — all or nothing."""
