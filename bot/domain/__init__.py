"""The domain: outcomes as facts, numbers and the destination policy, the extension rule, ids."""
