"""The `conveyor` operator CLI."""
