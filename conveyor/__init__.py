"""Conveyor: every file that lands in S3 transformed, archived and accounted for."""
