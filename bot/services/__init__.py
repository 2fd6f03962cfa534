"""The steps, once: dialing (and linking), whatever surface asked."""
