"""A deterministic contact-center simulator: realistic traffic with injected, known faults."""
