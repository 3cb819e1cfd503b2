"""The security headers every local answer carries, as CloudFront's response headers policy adds
them on AWS: the page may talk to itself and to the S3 endpoint it uploads to, nothing else."""

from __future__ import annotations


def content_security_policy(s3_endpoint: str) -> str:
    """Everything from the page's own origin only, requests also to `s3_endpoint`, images also
    from `data:` and `blob:` (the upload dashboard's previews): the CDK stack's policy
    (`infra/page.py`) with moto in place of S3, and no Cognito (sign-in goes through `/api`)."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            f"connect-src 'self' {s3_endpoint}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def security_headers(s3_endpoint: str) -> list[tuple[str, str]]:
    """Headers for every answer. No Strict-Transport-Security: the local page is plain HTTP."""
    return [
        ("Content-Security-Policy", content_security_policy(s3_endpoint)),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
    ]
