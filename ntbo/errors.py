"""The one exception type that the ntbo room raises for mistakes a user can make."""


class ConfigError(ValueError):
    """A bad search configuration, results folder or command-line option.

    The message is one line: it names the field (``space.width``, ``data.paths``, ...) or the
    file at fault and says how to fix it. The command line prints it alone and exits with 2.
    """
