"""`jt.linalg`: linear algebra. Its functions are the registry ops of namespace "linalg",
published here by jtensor.ops (plus `_MANUAL` Python-level helpers, none yet)."""
_MANUAL = ()
