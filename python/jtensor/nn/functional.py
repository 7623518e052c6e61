"""`jt.nn.functional` (being written)."""
