"""The ledger's `outputs`: what a job that wrote committed, nothing for one that did not."""

from batch_job.plan import facts
from batch_job.provenance import Decision
from tests.unit.test_plan import ARCHIVED, EMPTY, METRICS, source

OUTPUTS = [{"bucket": "out", "key": "a.gz", "role": "file", "bytes": 10}]


def test_outputs_only_when_the_job_wrote() -> None:
    assert facts(Decision.WRITE, source(), EMPTY, ARCHIVED, METRICS, OUTPUTS)["outputs"] == OUTPUTS
    for decision in (Decision.SUPERSEDED, Decision.ALREADY_WRITTEN):
        assert "outputs" not in facts(decision, source(), EMPTY, ARCHIVED, METRICS, OUTPUTS)
    assert "outputs" not in facts(Decision.WRITE, source(), EMPTY, ARCHIVED, METRICS)
