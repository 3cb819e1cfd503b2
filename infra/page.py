"""The upload page: the built files (`web/dist/`) in a private bucket that only CloudFront reads
(origin access control), served over HTTPS with security headers and a CSP that lets the page talk
to nothing but its API, its sign-in domain and the staging bucket."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as deployment
from constructs import Construct

ROOT = Path(__file__).resolve().parent.parent
PAGE_FOLDER = ROOT / "web" / "dist"
"""Where `make web` builds the page; `-c web_dist=PATH` points elsewhere (the tests do)."""
CLOUDFRONT_ORIGINS = "https://*.cloudfront.net"
"""The staging bucket's CORS rule for the page. Not the distribution's own domain: the page's CSP
names the staging bucket, so the distribution is created after it, and the bucket cannot name a
domain that does not exist yet. A pattern costs nothing here: S3 authorizes every request by its
signature (a presigned URL or the scoped credentials the API hands a signed-in person), never by
origin or cookie, so another page allowed to read S3's answers gains nothing it could use."""
HSTS_SECONDS = 2 * 365 * 24 * 3600
LOG_DAYS = 365


def page_folder(path: str | Path | None) -> Path:
    """The built page to deploy; a folder without index.html fails the synth with what to run."""
    folder = Path(path) if path else PAGE_FOLDER
    if not (folder / "index.html").is_file():
        raise ValueError(
            f"the web page is not built ({folder / 'index.html'} is missing): run `make web` first"
        )
    return folder


def content_security_policy(*, api: str, sign_in: str, staging: str, region: str) -> str:
    """Scripts, styles and images from the page itself; requests to the API, the Cognito domain
    (token exchange) and the staging bucket only: by its regional and its global virtual host
    (boto3 presigns us-east-1 URLs on the global one) and by the regional endpoint, path style.

    No 'unsafe-inline' for styles: Uppy renders with Preact, which sets styles through the CSSOM
    (`element.style`), which CSP does not govern; it injects no <style> element or style attribute
    markup, and its stylesheet is bundled into the page's own CSS.
    """
    directives = {
        "default-src": ["'self'"],
        "connect-src": [
            "'self'",
            api,
            sign_in,
            f"https://{staging}.s3.{region}.amazonaws.com",
            f"https://{staging}.s3.amazonaws.com",
            f"https://s3.{region}.amazonaws.com",
        ],
        "img-src": ["'self'", "data:", "blob:"],  # Uppy's thumbnails are blob: and data: URLs
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", sign_in],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def account_wide_name(scope: Construct, what: str) -> str:
    """A name for a CloudFront resource whose names are unique across the account, not the region:
    the same stack deployed in two regions must not collide."""
    stack = Stack.of(scope)
    return f"{stack.stack_name[:30]}-{what}-{stack.region}"


def security_headers(scope: Construct, csp: str) -> cloudfront.ResponseHeadersPolicy:
    """HSTS, nosniff, no framing, no referrer, and the CSP, on every response of the page."""
    return cloudfront.ResponseHeadersPolicy(
        scope,
        "Headers",
        response_headers_policy_name=account_wide_name(scope, "page-headers"),
        comment="Conveyor upload page: HSTS, nosniff, DENY framing, no referrer, CSP",
        security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
            content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                content_security_policy=csp, override=True
            ),
            content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            frame_options=cloudfront.ResponseHeadersFrameOptions(
                frame_option=cloudfront.HeadersFrameOption.DENY, override=True
            ),
            # The sign-in code arrives in the page's query string: it never leaves in a Referer.
            referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
            ),
            strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=Duration.seconds(HSTS_SECONDS),
                include_subdomains=True,
                override=True,
            ),
        ),
    )


class Page(Construct):
    """The bucket and the distribution; `deploy` uploads the page and its config.json."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        access_logs: s3.IBucket,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        common: dict[str, Any] = {
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "encryption": s3.BucketEncryption.S3_MANAGED,
            "enforce_ssl": True,
            "removal_policy": removal,
        }
        self.bucket = s3.Bucket(
            self,
            "Files",
            **common,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="page/",
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))],
        )
        # CloudFront's standard logs are delivered with an ACL grant, which a bucket whose owner
        # is enforced refuses: they get a bucket of their own.
        self.logs = s3.Bucket(
            self,
            "RequestLogs",
            **common,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="page-logs/",
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(LOG_DAYS))],
        )

    def distribute(self, csp: str) -> cloudfront.Distribution:
        """The distribution: the bucket through origin access control, HTTPS only, the headers."""
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Conveyor upload page",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(
                    self.bucket,
                    origin_access_control=cloudfront.S3OriginAccessControl(
                        self,
                        "Access",
                        origin_access_control_name=account_wide_name(self, "page"),
                        signing=cloudfront.Signing.SIGV4_ALWAYS,
                    ),
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=security_headers(self, csp),
                compress=True,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=self.logs,
            log_file_prefix="cloudfront/",
        )
        return self.distribution

    def deploy(
        self, folder: Path, config: Mapping[str, Any], *, log_retention: logs.RetentionDays
    ) -> deployment.BucketDeployment:
        """The built page and its config.json (deploy-time values filled in by CloudFormation);
        browsers revalidate every file, and CloudFront's copies are invalidated on each deploy."""
        return deployment.BucketDeployment(
            self,
            "Deploy",
            destination_bucket=self.bucket,
            sources=[
                deployment.Source.asset(str(folder)),
                deployment.Source.json_data("config.json", dict(config)),
            ],
            distribution=self.distribution,
            distribution_paths=["/*"],
            cache_control=[deployment.CacheControl.no_cache()],
            prune=True,
            log_group=logs.LogGroup(self, "DeployLogs", retention=log_retention),
        )
