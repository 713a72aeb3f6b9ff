"""Typed errors whose message is safe to show a user: short pt-BR text, never a token."""


class AppError(Exception):
    """Base of every error the UI shows as a message instead of a traceback."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConfigError(AppError):
    """The configuration is incomplete or invalid; the app cannot start."""


class ValidationError(AppError):
    """User input was rejected."""


class ProviderError(AppError):
    """A call to the WhatsApp provider failed (network, HTTP status, or an unusable reply)."""

    def __init__(self, message: str, *, action: str, retryable: bool = True, status_code: int | None = None):
        super().__init__(message)
        self.action = action
        self.retryable = retryable
        self.status_code = status_code  # HTTP status of the provider's reply, when there was one


class PermissionDenied(AppError):
    """The current user's role does not allow the operation."""

    def __init__(self, message: str = "Sem permissão para esta ação."):
        super().__init__(message)


class InstanceNotFound(AppError):
    """The instance no longer exists (deleted, possibly by another admin)."""

    def __init__(self, message: str = "Instância removida."):
        super().__init__(message)


class AlreadyDisconnected(ValidationError):
    """A disconnect found the instance disconnected already (by another admin, or it dropped):
    nothing was done. A bulk disconnect counts it apart from the failures (lib.bulk)."""

    def __init__(self, name: str):
        super().__init__(f"{name} já está desconectada: nada foi feito.")


class StoreError(AppError):
    """The database could not be read or written."""


class AuthError(AppError):
    """Login or session failure."""
