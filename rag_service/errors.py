"""Domain errors: services raise these; the API maps them to HTTP statuses and the CLI to messages."""


class ServiceError(Exception):
    code = "error"
    status = 400


class InvalidInputError(ServiceError):
    code = "invalid_input"
    status = 400


class NotFoundError(ServiceError):
    code = "not_found"
    status = 404


class NotAllowedError(ServiceError):
    """The caller may see the thing but not do this to it (another person's shared conversation: read, never
    continued, renamed or deleted). What they may not see is a NotFoundError instead."""

    code = "forbidden"
    status = 403


class ConflictError(ServiceError):
    code = "conflict"
    status = 409


class BackendUnavailableError(ServiceError):
    code = "backend_unavailable"
    status = 503


class ConfigurationError(ServiceError):
    """Settings that cannot work together; raised at start, before anything is served."""

    code = "configuration"
    status = 500


class QueueUnavailableError(ServiceError):
    code = "queue_unavailable"
    status = 503


class StorageUnavailableError(ServiceError):
    """Where uploaded originals live cannot be used (object storage unreachable, no such bucket, refused
    credentials, the s3 extra not installed): the server's state, not the request's."""

    code = "storage_unavailable"
    status = 503
