"""(being written)"""


def register(app) -> None:
    """Registers this module's listeners on the Bolt app."""
