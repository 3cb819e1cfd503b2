"""Checks that are not ours, on the synthesized template: cfn-lint and checkov run offline here
(from pytest, so `make test` and a bare `pytest tests/infra` both cover them, on the same template
the other infra tests build), and cdk-nag's accepted findings sit on their own resources only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # node 20 here

import aws_cdk as cdk

from infra.app import build
from infra.nag import RESOURCE_SUPPRESSIONS

ROOT = Path(__file__).resolve().parents[2]
ROUTES = json.dumps([{"match": "*.txt", "transform": "gzip"}])
# checkov pins an older boto3/botocore than the project needs, so it lives in its own virtualenv
# (`make test` builds it: see the Makefile); CHECKOV names another binary.
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv" / "checkov" / "bin" / "checkov"))
CFN_LINT = Path(sys.executable).parent / "cfn-lint"


@pytest.fixture(scope="module", params=["public", "private"])
def template_file(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as `cdk synth` writes it, for each network layout (issuers and routes set)."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    context = {
        "alarm_email": "ops@example.com",
        "routes": ROUTES,
        "upload_issuers": "arn:aws:iam::123456789012:role/issuer",
        "network": request.param,
    }
    app, stack = build(cdk.App(outdir=str(outdir), context=context))
    assembly = app.synth()
    return Path(assembly.get_stack_by_name(stack.stack_name).template_full_path)


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """From the repository root, where .cfnlintrc.yaml and .checkov.yaml are."""
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)


def test_no_cdk_nag_suppression_is_stack_wide(template_file: Path) -> None:
    template = json.loads(template_file.read_text())
    assert "cdk_nag" not in template.get("Metadata", {})
    suppressed = {
        name
        for name, resource in template["Resources"].items()
        if resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress")
    }
    # One resource per entry in infra/nag.py, and no other carries a suppression.
    assert len(suppressed) == len(RESOURCE_SUPPRESSIONS)


def test_cfn_lint_passes(template_file: Path) -> None:
    result = run([str(CFN_LINT), str(template_file)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_passes_offline(template_file: Path) -> None:
    if not CHECKOV.exists():
        pytest.fail(f"checkov is missing at {CHECKOV}: `make test` installs it")
    result = run(
        [
            str(CHECKOV),
            "-f",
            str(template_file),
            "--framework",
            "cloudformation",
            "--config-file",
            ".checkov.yaml",
            "--skip-download",
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Failed checks: 0" in result.stdout
