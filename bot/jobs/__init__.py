"""Background work: one runner for every kind of job (see bot/jobs/runner.py)."""
