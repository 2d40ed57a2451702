#!/usr/bin/env python3
"""One emulator, one workload: the figures behind the choice of the default local cloud.

Run by infra/bench-emulators (which starts each candidate in turn in a private network
namespace); by hand: infra/.venv/bin/python infra/bench_emulators.py --endpoint URL --name NAME
[--pid PID] [--dynamodb-only]. Prints one JSON object (figures) on stdout.

The workload is FinFlow's hot path, through boto3 as any client would send it:
  transact   TransactWriteItems of 4 items, as a transfer: debit and credit two wallets
             (conditional updates), put the payment and its outbox row (conditional puts),
             on a table with a NEW_AND_OLD_IMAGES stream; one at a time
  transact8  the same from 8 threads over disjoint wallet pairs: throughput, and whether the
             money is conserved afterwards (sum of balances unchanged, no lost update)
  getitem    strongly consistent GetItem of a wallet, one at a time
  bus->sqs   PutEvents on a custom bus, a rule matching it, its SQS target: time until a
             long-polling ReceiveMessage has the message, one event at a time
  rss        resident memory of the emulator's process tree after the load (--pid)
Latencies are wall-clock per call, client included (boto3 adds ~1 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from decimal import Decimal
from typing import Any, Callable


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def figures(latencies: list[float], elapsed: float) -> dict[str, Any]:
    return {
        "n": len(latencies),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "per_s": round(len(latencies) / elapsed, 1) if elapsed else None,
    }


def tree_rss_mb(pid: int) -> float | None:
    """Resident memory of pid and all its descendants (LocalStack runs Java and Node helpers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1) if total else None


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


class Bench:
    def __init__(self, endpoint: str, threads: int) -> None:
        import boto3
        from botocore.config import Config

        cfg = Config(region_name="us-east-1", retries={"max_attempts": 1}, max_pool_connections=threads + 4,
                     connect_timeout=5, read_timeout=120)
        kw = {"endpoint_url": endpoint, "config": cfg, "aws_access_key_id": "test", "aws_secret_access_key": "test"}
        self.ddb = boto3.client("dynamodb", **kw)
        self.events = boto3.client("events", **kw)
        self.sqs = boto3.client("sqs", **kw)
        self.table = f"bench-{uuid.uuid4().hex[:8]}"
        self.errors: dict[str, int] = {}
        self.lock = threading.Lock()

    def setup_table(self, wallets: int) -> None:
        self.ddb.create_table(
            TableName=self.table,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        self.ddb.get_waiter("table_exists").wait(TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        for w in range(wallets):
            self.ddb.put_item(TableName=self.table, Item={
                "pk": {"S": f"WALLET#{w}"}, "sk": {"S": "WALLET"}, "balance": {"N": "1000000.0000"}})

    def transfer(self, src: int, dst: int) -> None:
        from botocore.exceptions import ClientError

        pid = uuid.uuid4().hex
        amount = {":a": {"N": "1.2345"}}
        try:
            self.ddb.transact_write_items(TransactItems=[
                {"Update": {"TableName": self.table, "Key": {"pk": {"S": f"WALLET#{src}"}, "sk": {"S": "WALLET"}},
                            "UpdateExpression": "SET balance = balance - :a",
                            "ConditionExpression": "balance >= :a", "ExpressionAttributeValues": amount}},
                {"Update": {"TableName": self.table, "Key": {"pk": {"S": f"WALLET#{dst}"}, "sk": {"S": "WALLET"}},
                            "UpdateExpression": "SET balance = balance + :a", "ExpressionAttributeValues": amount}},
                {"Put": {"TableName": self.table, "Item": {"pk": {"S": f"PAYMENT#{pid}"}, "sk": {"S": "PAYMENT"},
                                                           "amount": {"N": "1.2345"}, "status": {"S": "COMPLETED"}},
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Put": {"TableName": self.table, "Item": {"pk": {"S": f"OUTBOX#{pid}"}, "sk": {"S": "EVENT"},
                                                           "envelope": {"S": json.dumps({"payment_id": pid})}},
                         "ConditionExpression": "attribute_not_exists(pk)"}},
            ])
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "?")
            with self.lock:
                self.errors[code] = self.errors.get(code, 0) + 1
            raise

    def total_balance(self, wallets: int) -> Decimal:
        total = Decimal(0)
        for w in range(wallets):
            item = self.ddb.get_item(TableName=self.table, Key={"pk": {"S": f"WALLET#{w}"}, "sk": {"S": "WALLET"}},
                                     ConsistentRead=True)["Item"]
            total += Decimal(item["balance"]["N"])
        return total

    def sequential_transfers(self, n: int) -> dict[str, Any]:
        lat = []
        start = time.perf_counter()
        for i in range(n):
            lat.append(timed(lambda: self.transfer(0, 1)))
        return figures(lat, time.perf_counter() - start)

    def concurrent_transfers(self, n: int, threads: int, first_wallet: int) -> dict[str, Any]:
        lat: list[float] = []
        failed = [0]

        def worker(t: int) -> None:
            # Each thread moves money between its own pair and, every other time, into the
            # shared wallet `first_wallet` too, so updates contend on one item.
            src, dst = first_wallet + 1 + 2 * t, first_wallet + 2 + 2 * t
            for i in range(n // threads):
                target = first_wallet if i % 2 else dst
                try:
                    d = timed(lambda: self.transfer(src, target))
                except Exception:  # noqa: BLE001 - counted in self.errors
                    with self.lock:
                        failed[0] += 1
                    continue
                with self.lock:
                    lat.append(d)

        wallets = first_wallet + 1 + 2 * threads
        before = self.total_balance(wallets)
        start = time.perf_counter()
        pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
        for th in pool:
            th.start()
        for th in pool:
            th.join()
        elapsed = time.perf_counter() - start
        after = self.total_balance(wallets)
        out = figures(lat, elapsed) if lat else {"n": 0}
        out["failed"] = failed[0]
        out["money_conserved"] = before == after
        return out

    def getitems(self, n: int) -> dict[str, Any]:
        lat = []
        start = time.perf_counter()
        key = {"pk": {"S": "WALLET#0"}, "sk": {"S": "WALLET"}}
        for _ in range(n):
            lat.append(timed(lambda: self.ddb.get_item(TableName=self.table, Key=key, ConsistentRead=True)))
        return figures(lat, time.perf_counter() - start)

    def bus_round_trips(self, n: int) -> dict[str, Any]:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        bus_arn = self.events.create_event_bus(Name=name)["EventBusArn"]
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        qarn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                           "Action": "sqs:SendMessage", "Resource": qarn}]})})
        self.events.put_rule(Name=name, EventBusName=name, State="ENABLED",
                             EventPattern=json.dumps({"source": ["bench.payments"], "detail-type": ["payment.completed"]}))
        self.events.put_targets(Rule=name, EventBusName=name, Targets=[{"Id": "q", "Arn": qarn}])
        lat = []
        start = time.perf_counter()
        for i in range(n):
            marker = uuid.uuid4().hex
            t = time.perf_counter()
            r = self.events.put_events(Entries=[{"EventBusName": bus_arn, "Source": "bench.payments",
                                                 "DetailType": "payment.completed",
                                                 "Detail": json.dumps({"marker": marker, "amount": "1.2345"})}])
            if r.get("FailedEntryCount"):
                raise RuntimeError(f"PutEvents failed: {r}")
            deadline = t + 30
            while True:
                msgs = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])
                got = False
                for m in msgs:
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                    got = got or marker in m["Body"]
                if got:
                    break
                if time.perf_counter() > deadline:
                    raise RuntimeError("an event did not reach the queue within 30 s")
            lat.append(time.perf_counter() - t)
        return figures(lat, time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--pid", type=int, help="the emulator's process, for its memory")
    ap.add_argument("--transactions", type=int, default=200)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--gets", type=int, default=200)
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--dynamodb-only", action="store_true", help="no EventBridge/SQS (DynamoDB Local)")
    args = ap.parse_args()

    b = Bench(args.endpoint, args.threads)
    out: dict[str, Any] = {"name": args.name, "rss_idle_mb": tree_rss_mb(args.pid) if args.pid else None}
    t = time.perf_counter()
    wallets = 2 + 1 + 2 * args.threads
    b.setup_table(wallets)
    out["first_call_s"] = round(time.perf_counter() - t, 2)
    out["transact"] = b.sequential_transfers(args.transactions)
    out["transact8"] = b.concurrent_transfers(args.transactions, args.threads, 2)
    out["getitem"] = b.getitems(args.gets)
    if not args.dynamodb_only:
        out["bus_sqs"] = b.bus_round_trips(args.events)
    out["errors"] = b.errors
    out["rss_mb"] = tree_rss_mb(args.pid) if args.pid else None
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
