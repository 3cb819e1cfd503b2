"""Building the trigger service: for its Lambda handler, and for the local stack and the CLI,
which run the same service without the handler (and without Powertools)."""

from __future__ import annotations

from collections.abc import Mapping

from conveyor.aws import clients
from conveyor.ledger.store import Ledger
from trigger_lambda.config import TriggerConfig
from trigger_lambda.service import Trigger


def build_trigger(environ: Mapping[str, str] | None = None) -> Trigger:
    """The trigger from settings in `environ` (default: the process environment), its clients
    from one session; a missing or invalid setting raises ConfigError."""
    config = TriggerConfig.from_env(environ)
    dynamodb, batch, s3 = clients("dynamodb", "batch", "s3")
    return Trigger(config=config, ledger=Ledger(dynamodb, config.ledger_table), batch=batch, s3=s3)
