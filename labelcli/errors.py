"""The one user-facing error type."""


class LabelError(Exception):
    """A problem with the user's input or options.

    The message is a single line that names the file, column or row and says what to do.
    The CLI prints it as ``Error: <message>`` on stderr and exits with code 2.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
