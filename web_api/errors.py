"""What the API answers besides success: one clear sentence under an HTTP status."""

from __future__ import annotations


class ApiError(Exception):
    """Answered as `{"error": str(self)}` with `status`."""

    status = 500


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409
