"""Running Conveyor on one machine: resources on any S3/SQS/DynamoDB endpoint."""
