"""S3 notification (direct, in SQS, or via EventBridge) -> one Batch job per object version."""
