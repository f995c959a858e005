"""The one exception type that the nets room raises for mistakes a user can make."""


class TrainError(ValueError):
    """A bad topology, data set, training option or saved-model file.

    The message names the field (or file) at fault and says how to fix it.
    """
