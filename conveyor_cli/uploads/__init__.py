"""`conveyor upload`: send files to staging only when their content is not already there."""
