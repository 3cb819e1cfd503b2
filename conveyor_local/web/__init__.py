"""The web page and its API on 127.0.0.1, as CloudFront, Cognito and API Gateway serve them."""

DEFAULT_PORT = 8321
"""`conveyor local up --web-port`'s default."""
