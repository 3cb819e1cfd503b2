"""The ledger's batched writes for bulk resubmission: one refused write does not stop the others,
a retry after a lost answer knows its own write, and a cancelled transaction leaves nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conveyor.aws import client
from conveyor.bulk.plan import claim_token
from conveyor.ledger.store import Ledger
from conveyor_local.faults import FaultProxy, Request, fault_proxy
from tests.conftest import Stack
from tests.integration.test_bulk_resubmit import entries, seed_failed
from tests.integration.worker import ledger


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    with fault_proxy(moto_endpoint) as running:
        yield running


def transaction(request: Request) -> bool:
    return request.service == "dynamodb" and request.operation == "TransactWriteItems"


def failed_items(stack: Stack, count: int) -> list[Any]:
    seed_failed(stack, count)
    return sorted(entries(stack).values(), key=lambda e: e.key)


def test_a_claim_whose_answer_was_lost_is_known_as_ours(stack: Stack, proxy: FaultProxy) -> None:
    items = failed_items(stack, 3)
    rule = proxy.lose_response("claims", transaction)
    proxied = Ledger(client("dynamodb", endpoint_url=proxy.url), ledger(stack)._table)
    tokens = [claim_token("b1", i) for i in range(3)]
    assert proxied.claim_failed_many(list(zip(items, tokens, strict=True)), 120) == [True] * 3
    assert rule.fired == 1  # the answer was lost, and the claims landed all the same
    assert [
        e["claim_token"] for e in sorted(entries(stack).values(), key=lambda e: e.key)
    ] == tokens


def test_one_refused_claim_lets_the_others_go(stack: Stack) -> None:
    items = failed_items(stack, 4)
    book = ledger(stack)
    assert book.begin_retry(items[2], items[2]["job_id"], 120)  # someone else, just now
    tokens = [claim_token("b2", i) for i in range(4)]
    claimed = book.claim_failed_many(list(zip(items, tokens, strict=True)), 120)
    assert claimed == [True, True, False, True]
    now = {e.key: e for e in entries(stack).values()}
    assert [now[i.key].get("claim_token") for i in items] == [tokens[0], tokens[1], None, tokens[3]]


def test_a_cancelled_transaction_writes_nothing(stack: Stack) -> None:
    """The local stack's moto fix (conveyor_local.moto_transactions) still rolls back."""
    items = failed_items(stack, 2)
    dynamodb = client("dynamodb")
    table = stack.settings["CONVEYOR_LEDGER_TABLE"]
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": items[0]["pk"]}, "sk": {"S": items[0]["sk"]}},
                        "UpdateExpression": "SET marked = :yes",
                        "ExpressionAttributeValues": {":yes": {"S": "yes"}},
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": "new/item"}, "sk": {"S": "v#1"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": items[1]["pk"]}, "sk": {"S": items[1]["sk"]}},
                        "UpdateExpression": "SET marked = :yes",
                        "ConditionExpression": "attribute_not_exists(pk)",  # it exists
                        "ExpressionAttributeValues": {":yes": {"S": "yes"}},
                    }
                },
            ]
        )
    assert all("marked" not in e for e in entries(stack).values())
    assert ledger(stack).get("new/item", "v#1") is None
