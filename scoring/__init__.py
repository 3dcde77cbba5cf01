"""The plan's scoring rules: pure functions over archived evidence, no I/O."""
