"""moto's server with its DynamoDB backend made safe for concurrent requests.

moto serves requests on many threads, but its DynamoDB backend is not thread-safe:
concurrent TransactWriteItems (which copy the tables they touch) race with other writes
and fail with "dictionary changed size during iteration", answering 500. Every DynamoDB and
DynamoDB Streams backend operation here takes one lock, so they run one at a time, as a
single DynamoDB partition would serialise them, while SQS long polls and the other services
stay concurrent.

Cancelled transactions need one more fix. moto rolls back by putting back deep copies of the
tables a transaction touched, stream shard included. The replaced shard object still holds the
cancelled transaction's stream records, and the copy reuses their sequence numbers for the next
real writes, so a stream reader could see a record of a write that never happened and then skip
a real one under the same number. On rollback the live shard is kept, without the cancelled
records, so the stream shows exactly the committed writes, as DynamoDB Streams does.

Usage is moto_server's: python infra/moto_server.py -H 127.0.0.1 -p 4566
"""

import functools
import inspect
import sys
import threading

from moto import server
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodbstreams.models import DynamoDBStreamsBackend

_LOCK = threading.RLock()


def _serialised(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return wrapper


def _serialise_backend(backend_class):
    for name, member in list(vars(backend_class).items()):
        if name.startswith("__") or not inspect.isfunction(member):
            continue
        setattr(backend_class, name, _serialised(member))


def _keep_live_stream_shards(transact_write_items):
    @functools.wraps(transact_write_items)
    def wrapper(self, *args, **kwargs):
        with _LOCK:
            shards = {
                name: (table.stream_shard, len(table.stream_shard.items))
                for name, table in self.tables.items()
                if table.stream_shard is not None
            }
            try:
                return transact_write_items(self, *args, **kwargs)
            finally:
                for name, (shard, committed) in shards.items():
                    table = self.tables.get(name)
                    if table is not None and table.stream_shard is not shard:
                        del shard.items[committed:]
                        shard.table = table
                        table.stream_shard = shard

    return wrapper


_serialise_backend(DynamoDBBackend)
_serialise_backend(DynamoDBStreamsBackend)
DynamoDBBackend.transact_write_items = _keep_live_stream_shards(DynamoDBBackend.transact_write_items)

if __name__ == "__main__":
    sys.exit(server.main(sys.argv[1:]))
