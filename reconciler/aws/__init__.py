"""AWS access: boto3 client construction, the plan-mode write guard and call accounting."""
