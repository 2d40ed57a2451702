"""lambda-perf's hello world in Python, for `infra/bench`'s cold-start floor: answers at once.
Run under the same Runtime Interface Emulator as FinFlow's functions, with awslambdaric (PyPI),
the runtime interface client of AWS's python3.11 images."""


def handler(event, context):
    return {"statusCode": 200, "body": "hello"}
