"""Unit tests of infra/provision.py's pure parts: the CloudFormation resolver (intrinsics,
conditions, pseudo parameters, AWS::NoValue) against fake AWS clients, and SAM's Globals
merge. No emulator: `infra/.venv/bin/python -m unittest infra/test_provision.py` (infra/test
runs it with the lint step)."""

from __future__ import annotations

import sys
import unittest
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import provision  # noqa: E402


class FakeSqs:
    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        return {"QueueUrl": f"http://127.0.0.1:4566/000000000000/{QueueName}"}

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        name = QueueUrl.rsplit("/", 1)[-1]
        return {"Attributes": {"QueueArn": f"arn:aws:sqs:us-east-1:000000000000:{name}"}}


class FakeDynamo:
    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {"Table": {"TableArn": f"arn:aws:dynamodb:us-east-1:000000000000:table/{TableName}"}}


def fake_aws(service: str) -> Any:
    return {"sqs": FakeSqs(), "dynamodb": FakeDynamo()}[service]


TEMPLATE: dict[str, Any] = {
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
        "LocalAndNotProd": {"Fn::And": [{"Condition": "NotProd"}, {"Fn::Equals": [{"Ref": "EndpointUrl"}, "http://x"]}]},
        "Either": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "NotProd"}]},
    },
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Table": {"Type": "AWS::DynamoDB::Table"},
        "Fn": {"Type": "AWS::Serverless::Function", "Properties": {}},
    },
}


def resolver(stage: str = "dev") -> provision.Resolver:
    return provision.Resolver(
        fake_aws,
        TEMPLATE,
        {"Stage": stage, "EndpointUrl": "http://x"},
        "us-east-1",
        "000000000000",
        "finflow-local",
        {"Queue": "http://127.0.0.1:4566/000000000000/finflow-queue", "Table": "finflow-table"},
    )


class ResolverTest(unittest.TestCase):
    def test_refs_are_parameters_pseudo_parameters_and_physical_names(self) -> None:
        r = resolver()
        self.assertEqual(r.resolve({"Ref": "Stage"}), "dev")
        self.assertEqual(r.resolve({"Ref": "AWS::Region"}), "us-east-1")
        self.assertEqual(r.resolve({"Ref": "Table"}), "finflow-table")
        self.assertEqual(r.resolve({"Ref": "Queue"}), "http://127.0.0.1:4566/000000000000/finflow-queue")
        self.assertEqual(r.resolve({"Ref": "Fn"}), "finflow-local-Fn")
        with self.assertRaises(KeyError):
            r.resolve({"Ref": "Nowhere"})

    def test_get_att_asks_the_emulator(self) -> None:
        r = resolver()
        self.assertEqual(r.resolve({"Fn::GetAtt": "Queue.Arn"}), "arn:aws:sqs:us-east-1:000000000000:finflow-queue")
        self.assertEqual(r.resolve({"Fn::GetAtt": ["Table", "Arn"]}), "arn:aws:dynamodb:us-east-1:000000000000:table/finflow-table")
        self.assertEqual(r.resolve({"Fn::GetAtt": "Queue.QueueName"}), "finflow-queue")
        with self.assertRaises(KeyError):
            r.resolve({"Fn::GetAtt": "Table.StreamArn"})

    def test_sub_join_select_split(self) -> None:
        r = resolver()
        self.assertEqual(r.resolve({"Fn::Sub": "${AWS::StackName}-${Stage}-${!Literal}"}), "finflow-local-dev-${Literal}")
        self.assertEqual(r.resolve({"Fn::Sub": ["${Name}.${Queue.Arn}", {"Name": {"Ref": "Stage"}}]}), "dev.arn:aws:sqs:us-east-1:000000000000:finflow-queue")
        self.assertEqual(r.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}), "a-dev")
        self.assertEqual(r.resolve({"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}), "y")

    def test_conditions_choose_and_no_value_removes(self) -> None:
        dev, prod = resolver("dev"), resolver("prod")
        value = {"Fn::If": ["IsProd", "big", {"Ref": "AWS::NoValue"}]}
        self.assertEqual(prod.resolve({"Size": value}), {"Size": "big"})
        self.assertEqual(dev.resolve({"Size": value, "Kept": 1}), {"Kept": 1})
        self.assertEqual(dev.resolve(["a", value]), ["a"])
        self.assertTrue(dev.condition("LocalAndNotProd"))
        self.assertFalse(prod.condition("LocalAndNotProd"))
        self.assertTrue(dev.condition("Either") and prod.condition("Either"))

    def test_unsupported_intrinsics_fail_loudly(self) -> None:
        with self.assertRaises(KeyError):
            resolver().resolve({"Fn::ImportValue": "Elsewhere"})
        with self.assertRaises(KeyError):
            resolver().condition("Unknown")


class GlobalsTest(unittest.TestCase):
    def test_maps_merge_lists_append_scalars_override(self) -> None:
        merged = provision.merge_globals(
            {"Timeout": 10, "Environment": {"Variables": {"A": "1", "B": "2"}}, "Layers": ["x"]},
            {"Timeout": 30, "Environment": {"Variables": {"B": "3"}}, "Layers": ["y"]},
        )
        self.assertEqual(merged["Timeout"], 30)
        self.assertEqual(merged["Environment"]["Variables"], {"A": "1", "B": "3"})
        self.assertEqual(merged["Layers"], ["x", "y"])

    def test_an_intrinsic_replaces_rather_than_merges(self) -> None:
        merged = provision.merge_globals({"Tags": {"a": "1"}}, {"Tags": {"Ref": "Other"}})
        self.assertEqual(merged["Tags"], {"Ref": "Other"})


if __name__ == "__main__":
    unittest.main()
