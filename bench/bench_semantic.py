"""Placeholder, replaced below."""
def require() -> None:
    raise ImportError("not yet")
