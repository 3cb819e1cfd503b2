"""Who may use the web page: a Cognito user pool whose people administrators add, its managed
sign-in at a Cognito domain, and the page's app client (authorization code + PKCE, no secret)."""

from __future__ import annotations

import re

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct

ACCESS_TOKEN_HOURS = 1
"""What the API's JWT authorizer accepts a token for; the page refreshes it."""
REFRESH_TOKEN_DAYS = 1
"""A sign-in lasts a working day: long enough for the largest upload (5 TB at 1 Gbit/s is 11 h),
short enough that a refresh token left in a browser soon stops working."""
SCOPES = (cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE)
DOMAIN_PREFIX = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
"""Cognito's rule for a domain prefix: lowercase letters, digits and hyphens, at most 63."""
RESERVED = ("aws", "amazon", "cognito")
"""Words Cognito refuses in a domain prefix."""
ACCOUNT_DIGITS = 12


def domain_prefix(stack_name: str, override: str | None = None) -> tuple[str, bool]:
    """The Cognito domain prefix: `override` as given, or the stack's name in lowercase to which the
    account id is appended (returned flag), since prefixes are unique across every account in a
    region. A prefix Cognito would refuse fails the synth, naming the context value to set."""
    prefix = override if override else stack_name.lower()
    with_account = not override
    checked = f"{prefix}-{'0' * ACCOUNT_DIGITS}" if with_account else prefix
    problem = None
    if not DOMAIN_PREFIX.fullmatch(checked):
        problem = "lowercase letters, digits and inner hyphens only, at most 63 characters"
    elif any(word in checked for word in RESERVED):
        problem = f"it may not contain {', '.join(RESERVED)}"
    if problem:
        raise ValueError(
            f"Cognito domain prefix {checked!r} is not allowed ({problem}): "
            "set one with -c auth_domain_prefix=NAME"
        )
    return prefix, with_account


class Auth(Construct):
    """The user pool and its sign-in domain (`sign_in_url`); `add_page_client` adds the page's
    client once the page's URL is known."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        prefix_override: str | None,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,  # administrators add people
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            # Threat protection (the Plus plan): risky and compromised-credential sign-ins are
            # blocked, not only logged.
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=removal == RemovalPolicy.RETAIN,
            removal_policy=removal,
        )
        prefix, with_account = domain_prefix(stack.stack_name, prefix_override)
        self.domain = self.pool.add_domain(
            "SignIn",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=f"{prefix}-{stack.account}" if with_account else prefix
            ),
            managed_login_version=cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
        )
        self.sign_in_url = self.domain.base_url()
        self.issuer = f"https://cognito-idp.{stack.region}.amazonaws.com/{self.pool.user_pool_id}"
        """What the JWT authorizer checks the tokens' `iss` against."""

    def add_page_client(self, page_url: str) -> cognito.UserPoolClient:
        """The page's client: code flow to and from the page's URL only, no secret."""
        self.client = self.pool.add_client(
            "Page",
            generate_secret=False,  # a public client: the page proves itself with PKCE
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(
                    authorization_code_grant=True,
                    implicit_code_grant=False,
                    client_credentials=False,
                ),
                scopes=list(SCOPES),
                callback_urls=[page_url],
                logout_urls=[page_url],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=Duration.hours(ACCESS_TOKEN_HOURS),
            id_token_validity=Duration.hours(ACCESS_TOKEN_HOURS),
            refresh_token_validity=Duration.days(REFRESH_TOKEN_DAYS),
        )
        # Managed login (version 2) shows a client's sign-in page only once it has a style.
        style = cognito.CfnManagedLoginBranding(
            self,
            "Style",
            user_pool_id=self.pool.user_pool_id,
            client_id=self.client.user_pool_client_id,
            use_cognito_provided_values=True,
        )
        style.node.add_dependency(self.domain)  # a style is for a domain's managed login
        return self.client
