"""The CDK app: one stack, built from a few constructs wired in `stack.py`."""
