"""The domain: models, policy file, detection, risk and recommendation. Pure: no I/O."""
