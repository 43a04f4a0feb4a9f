"""Contact Radar: the functional core (event contract, detectors) and the command line."""
