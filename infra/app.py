"""`cdk synth` / `cdk deploy`: one stack, named by context `stack_name` (default Conveyor)."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.nag import suppress
from infra.stack import ConveyorStack


def build(app: cdk.App | None = None) -> tuple[cdk.App, ConveyorStack]:
    app = app or cdk.App()
    name = app.node.try_get_context("stack_name") or "Conveyor"
    stack = ConveyorStack(app, name)
    suppress(stack)
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack


if __name__ == "__main__":
    build()[0].synth()
