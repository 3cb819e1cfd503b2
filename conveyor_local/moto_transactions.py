"""moto's TransactWriteItems deep-copies the whole table once per write of the transaction, to
roll back a cancelled one: 100 writes on a 10,000-item table copy a million items, so a bulk
resubmission's claims (conveyor.bulk) would take minutes a transaction on the local stack, where
DynamoDB takes milliseconds. The fix keeps what a rollback needs, the written items as they were,
and puts them back when the transaction is cancelled."""

from __future__ import annotations

import copy
from typing import Any


def apply() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "conveyor_fix", False):
        return

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        before = [_saved(self, element) for element in transact_items]
        try:
            original(self, transact_items)
        except Exception:
            for saved in reversed([s for s in before if s is not None]):
                _restore(self, *saved)
            raise

    transact_write_items.conveyor_fix = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    # The original's own whole-table "backup" (its only deep copy of a Table) is now a no-op:
    # the items saved above are the backup.
    Table.__deepcopy__ = lambda self, memo: self  # type: ignore[assignment,method-assign]


def _saved(backend: Any, element: dict[str, Any]) -> tuple[str, dict[str, Any], Any] | None:
    """(table, key, the item as it is now or None) for one write of the transaction."""
    operation = next(iter(element.values()), None)
    if not isinstance(operation, dict) or operation.get("TableName") not in backend.tables:
        return None
    name = operation["TableName"]
    table = backend.tables[name]
    key = operation.get("Key")
    if key is None:
        attributes = operation.get("Item", {})
        names = [n for n in (table.hash_key_attr, table.range_key_attr) if n]
        if not all(n in attributes for n in names):
            return None  # moto refuses it before writing anything
        key = {n: attributes[n] for n in names}
    try:
        return name, key, copy.deepcopy(backend.get_item(name, key))
    except Exception:  # a malformed key: moto refuses the transaction before any write
        return None


def _restore(backend: Any, table_name: str, key: dict[str, Any], item: Any) -> None:
    if item is None:
        if backend.get_item(table_name, key) is not None:
            backend.delete_item(table_name, key)
    else:
        backend.put_item(table_name, item.to_json()["Attributes"])
