"""The web page's API: a Lambda behind API Gateway's JWT authorizer (locally, the same handler
behind `conveyor local up`'s token check)."""
