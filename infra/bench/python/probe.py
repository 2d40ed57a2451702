"""The shape of a FinFlow read in Python 3.11 with boto3, for `infra/bench`'s comparison: a
DynamoDB client made during init, one GetItem per invocation, so that the first invocation
pays for the client's first call (what the seed's stack would cost). Its Rust twin is
`infra/bench/probe` (the `bench-probe` binary)."""

import os

import boto3

DYNAMODB = boto3.client("dynamodb")


def handler(event, context):
    item = DYNAMODB.get_item(
        TableName=os.environ["PROBE_TABLE"], Key={"pk": {"S": "bench#probe"}, "sk": {"S": "bench#probe"}}
    ).get("Item")
    return {"statusCode": 200, "body": "found" if item else "absent"}
