"""The S3 backend (the only code that imports boto3)."""
