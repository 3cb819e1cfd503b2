"""The ledger: one DynamoDB item per object version, with the history of its jobs."""
