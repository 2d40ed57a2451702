"""Unit tests of infra/provision.py's pure parts: the CloudFormation resolver (intrinsics,
conditions, pseudo parameters, AWS::NoValue) against fake AWS clients, SAM's Globals merge,
the parameters, and what is stripped before the emulator sees the template (also for the
real template.yaml, through the real SAM transform). No emulator:
`infra/.venv/bin/python -m unittest infra/test_provision.py` (infra/test runs it with the lint
step)."""

from __future__ import annotations

import copy
import os
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


class FakeSecrets:
    def describe_secret(self, SecretId: str) -> dict[str, str]:
        return {"ARN": f"arn:aws:secretsmanager:us-east-1:000000000000:secret:{SecretId}-AbCdEf"}


class FakeDynamo:
    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {"Table": {"TableArn": f"arn:aws:dynamodb:us-east-1:000000000000:table/{TableName}"}}


def fake_aws(service: str) -> Any:
    return {"sqs": FakeSqs(), "dynamodb": FakeDynamo(), "secretsmanager": FakeSecrets()}[service]


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
        "Secret": {"Type": "AWS::SecretsManager::Secret"},
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
        {"Queue": "http://127.0.0.1:4566/000000000000/finflow-queue", "Table": "finflow-table", "Secret": "finflow-secret"},
    )


class ResolverTest(unittest.TestCase):
    def test_refs_are_parameters_pseudo_parameters_and_physical_names(self) -> None:
        r = resolver()
        self.assertEqual(r.resolve({"Ref": "Stage"}), "dev")
        self.assertEqual(r.resolve({"Ref": "AWS::Region"}), "us-east-1")
        self.assertEqual(r.resolve({"Ref": "Table"}), "finflow-table")
        self.assertEqual(r.resolve({"Ref": "Queue"}), "http://127.0.0.1:4566/000000000000/finflow-queue")
        self.assertEqual(r.resolve({"Ref": "Fn"}), "finflow-local-Fn")
        # A secret's Ref is its ARN, as on AWS, whatever the emulator keeps as its id.
        self.assertEqual(r.resolve({"Ref": "Secret"}), "arn:aws:secretsmanager:us-east-1:000000000000:secret:finflow-secret-AbCdEf")
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


class LoggingConfigTest(unittest.TestCase):
    def test_lambda_sets_the_format_and_with_json_the_level(self) -> None:
        self.assertEqual(
            provision.lambda_logging_environment({"LogFormat": "JSON", "ApplicationLogLevel": "WARN", "SystemLogLevel": "WARN"}),
            {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "WARN"},
        )
        self.assertEqual(
            provision.lambda_logging_environment({"LogFormat": "Text", "ApplicationLogLevel": "WARN"}),
            {"AWS_LAMBDA_LOG_FORMAT": "Text"},
        )
        self.assertEqual(provision.lambda_logging_environment({}), {"AWS_LAMBDA_LOG_FORMAT": "Text"})


class ParameterValuesTest(unittest.TestCase):
    SAM: dict[str, Any] = {"Parameters": {"Stage": {"Default": "dev"}, "Secret": {}, "Retries": {"Default": 3}}}

    def test_overrides_win_over_defaults_and_every_value_is_a_string(self) -> None:
        self.assertEqual(provision.parameter_values(self.SAM, {"Secret": "s"}), {"Stage": "dev", "Secret": "s", "Retries": "3"})
        self.assertEqual(provision.parameter_values(self.SAM, {"Secret": "s", "Stage": "local"})["Stage"], "local")

    def test_an_undeclared_override_or_a_missing_value_stops(self) -> None:
        with self.assertRaises(SystemExit):
            provision.parameter_values(self.SAM, {"Secret": "s", "Nope": "x"})
        with self.assertRaises(SystemExit):
            provision.parameter_values(self.SAM, {})


class StripTest(unittest.TestCase):
    """What the emulator is given: the template less what only runs on AWS."""

    CFN: dict[str, Any] = {
        "Conditions": {"HasEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Email"}, ""]}]}},
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "FnVersion": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
            "FnAliaslive": {"Type": "AWS::Lambda::Alias", "Properties": {"FunctionVersion": {"Fn::GetAtt": ["FnVersion", "Version"]}}},
            "FnDeploymentGroup": {"Type": "AWS::CodeDeploy::DeploymentGroup", "Properties": {}},
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {}},
            "ApiStage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {"AccessLogSettings": {"DestinationArn": {"Fn::GetAtt": ["AccessLogs", "Arn"]}}}},
            "AccessLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 90}},
            "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
            "DlqAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmActions": [{"Ref": "Topic"}]}},
            "FnErrors": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "Fn"}}]}},
            "Email": {"Type": "AWS::SNS::Subscription", "Condition": "HasEmail", "Properties": {"TopicArn": {"Ref": "Topic"}}},
            "Reader": {"Type": "AWS::SQS::QueuePolicy", "Properties": {"Queues": [{"Ref": "Dlq"}], "Note": {"Ref": "Email"}}},
        },
    }

    def strip(self, email: str) -> tuple[dict[str, Any], list[str]]:
        conditions = provision.Resolver(fake_aws, self.CFN, {"Email": email}, "us-east-1", "000000000000", "finflow-local", {})
        return provision.strip_for_emulator(self.CFN, conditions.condition)

    def test_alarms_log_groups_versions_aliases_deployments_and_the_api_are_stripped_quietly(self) -> None:
        stripped, notes = self.strip("ops@example.com")
        self.assertEqual(sorted(stripped["Resources"]), ["Dlq", "Email", "Reader", "Topic"])
        self.assertEqual(notes, [])

    def test_a_resource_whose_condition_is_false_is_left_out_with_what_needs_it(self) -> None:
        stripped, notes = self.strip("")
        self.assertEqual(sorted(stripped["Resources"]), ["Dlq", "Topic"])
        self.assertEqual(len(notes), 2)
        self.assertIn("Email (AWS::SNS::Subscription) left out: its condition HasEmail is false", notes)


class TemplateStripTest(unittest.TestCase):
    """template.yaml through the real SAM transform: everything that is not stripped on
    purpose reaches the emulator, so no resource is lost because it references a stripped one."""

    def test_the_emulator_gets_every_resource_it_runs(self) -> None:
        os.environ.setdefault("AWS_DEFAULT_REGION", provision.DEFAULT_REGION)
        sam = provision.load_template(provision.DEFAULT_TEMPLATE)
        params = provision.parameter_values(sam, provision.LOCAL_PARAMETERS)
        cfn = provision.sam_transform(sam, params, None)
        conditions = provision.Resolver(fake_aws, cfn, params, "us-east-1", "000000000000", "finflow-local", {})
        stripped, notes = provision.strip_for_emulator(cfn, conditions.condition)

        expected = {
            lid
            for lid, res in cfn["Resources"].items()
            if not res["Type"].startswith(provision.STRIPPED_TYPE_PREFIXES)
            and ("Condition" not in res or conditions.condition(res["Condition"]))
        }
        self.assertEqual(set(stripped["Resources"]), expected)
        self.assertNotIn("AlarmEmailSubscription", expected, "no alarm e-mail locally")
        self.assertIn("AlarmTopic", expected)
        # Only rule targets that are functions go (the runner delivers those itself).
        self.assertEqual(
            [n for n in notes if "left out" not in n and "target(s) pointing at stripped resources" not in n], []
        )


class PermissionsTest(unittest.TestCase):
    """A function's permissions: its role's inline Allow statements, resolved; Deny
    statements and managed policies (the Lambda service's) are not the code's."""

    def test_inline_allow_statements_resolve_to_arns(self) -> None:
        cfn = {"Resources": {"FnRole": {"Type": "AWS::IAM::Role", "Properties": {
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": {"Fn::GetAtt": ["Table", "Arn"]}},
                {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [{"Fn::GetAtt": "Queue.Arn"}]},
                {"Effect": "Deny", "Action": "*", "Resource": "*"},
            ]}}],
        }}}}
        self.assertEqual(provision.function_permissions(cfn, resolver(), "Fn"), [
            {"actions": ["dynamodb:GetItem"], "resources": ["arn:aws:dynamodb:us-east-1:000000000000:table/finflow-table"]},
            {"actions": ["sqs:SendMessage"], "resources": ["arn:aws:sqs:us-east-1:000000000000:finflow-queue"]},
        ])
        self.assertEqual(provision.function_permissions(cfn, resolver(), "Other"), [])


class AuthorizerTest(unittest.TestCase):
    """Which function authorizes each route: the API's default (also from Globals), a
    route's own choice, or none (`Authorizer: NONE`)."""

    SAM: dict[str, Any] = {
        "Globals": {"HttpApi": {"Auth": {"DefaultAuthorizer": "Staff"}}},
        "Resources": {
            "Api": {
                "Type": "AWS::Serverless::HttpApi",
                "Properties": {
                    "Auth": {
                        "Authorizers": {
                            "Staff": {
                                "FunctionArn": {"Ref": "Guard.Alias"},
                                "AuthorizerPayloadFormatVersion": "2.0",
                                "EnableSimpleResponses": True,
                            },
                            "Other": {
                                "FunctionArn": {"Fn::GetAtt": ["Other", "Arn"]},
                                "AuthorizerPayloadFormatVersion": "2.0",
                                "EnableSimpleResponses": True,
                            },
                            "Jwt": {"JwtConfiguration": {"issuer": "x"}},
                        }
                    }
                },
            }
        },
    }

    def test_routes_take_the_default_their_own_or_none(self) -> None:
        apis = provision.lambda_authorizers(self.SAM["Resources"], self.SAM)
        api = {"Ref": "Api"}
        self.assertEqual(provision.route_authorizer(apis, {"ApiId": api}, "f"), "Guard")
        own = {"ApiId": api, "Auth": {"Authorizer": "Other"}}
        self.assertEqual(provision.route_authorizer(apis, own, "f"), "Other")
        public = {"ApiId": api, "Auth": {"Authorizer": "NONE"}}
        self.assertIsNone(provision.route_authorizer(apis, public, "f"))

    def test_unknown_apis_and_authorizers_and_other_payloads_are_refused(self) -> None:
        apis = provision.lambda_authorizers(self.SAM["Resources"], self.SAM)
        with self.assertRaises(SystemExit):
            provision.route_authorizer(apis, {"ApiId": {"Ref": "Nope"}}, "f")
        with self.assertRaises(SystemExit):
            provision.route_authorizer(apis, {"ApiId": {"Ref": "Api"}, "Auth": {"Authorizer": "Jwt"}}, "f")
        old = copy.deepcopy(self.SAM)
        old["Resources"]["Api"]["Properties"]["Auth"]["Authorizers"]["Staff"]["AuthorizerPayloadFormatVersion"] = "1.0"
        with self.assertRaises(SystemExit):
            provision.lambda_authorizers(old["Resources"], old)


if __name__ == "__main__":
    unittest.main()
