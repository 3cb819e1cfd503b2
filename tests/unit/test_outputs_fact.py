"""The ledger's `outputs`: what a job that wrote committed, or what an earlier run of its version
committed when it finds the output already written; nothing for a superseded job."""

from batch_job.plan import facts
from batch_job.provenance import Decision
from tests.unit.test_plan import ARCHIVED, EMPTY, METRICS, source

OUTPUTS = [{"bucket": "out", "key": "a.gz", "role": "file", "bytes": 10}]


def test_outputs_when_the_job_wrote_or_found_them_written() -> None:
    for decision in (Decision.WRITE, Decision.ALREADY_WRITTEN):
        assert facts(decision, source(), EMPTY, ARCHIVED, METRICS, OUTPUTS)["outputs"] == OUTPUTS
        assert "outputs" not in facts(decision, source(), EMPTY, ARCHIVED, METRICS)
    assert "outputs" not in facts(Decision.SUPERSEDED, source(), EMPTY, ARCHIVED, METRICS, OUTPUTS)
