"""EventBridge "Batch Job State Change" -> the ledger."""
