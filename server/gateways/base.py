class GatewayError(Exception):
    """A transient failure of an outside system: the caller may retry later."""
