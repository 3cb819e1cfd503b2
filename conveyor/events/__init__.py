"""Events from AWS, parsed once at the boundary into small frozen types."""
