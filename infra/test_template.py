"""The deployment invariants of template.yaml (issue 14), so that a function, queue or route
added later cannot leave them out: every function is published as `live` and shifted by a
canary that its own Errors alarm (and, for a consumer, its DLQ's depth alarm) rolls back;
every DLQ has a depth alarm; every alarm notifies AlarmTopic; every route is on the one HTTP
API, whose throttles and access log hold what the README promises. Read with provision.py's
loader (it knows CloudFormation's short tags), checked once more after the real SAM transform.
No emulator: `infra/.venv/bin/python -m unittest infra/test_template.py` (infra/test runs it
with the lint step)."""

from __future__ import annotations

import json
import os
import re
import sys
import unittest
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import provision  # noqa: E402

SAM = provision.load_template(provision.DEFAULT_TEMPLATE)
RESOURCES: dict[str, Any] = SAM["Resources"]
API = "FinFlowHttpApi"
# The routes whose throttling is stricter than the default route's (README, "Deploying to AWS").
STRICT_ROUTES = [
    f"POST /api{version}/{path}"
    for path in ("auth/login", "auth/register", "payment/transfer")
    for version in ("", "/v1")
] + ["POST /api/v2/payment/transfer"]


def of_type(kind: str) -> dict[str, Any]:
    return {lid: res for lid, res in RESOURCES.items() if res["Type"] == kind}


def ref(value: Any) -> str | None:
    return value.get("Ref") if isinstance(value, dict) else None


get_att = provision.getatt_target


FUNCTIONS = {
    lid: provision.merge_globals(SAM["Globals"]["Function"], res.get("Properties", {}))
    for lid, res in of_type("AWS::Serverless::Function").items()
}


def events(props: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [ev.get("Properties", {}) for ev in (props.get("Events") or {}).values() if ev.get("Type") == kind]


ROUTES = {f"{str(e['Method']).upper()} {e['Path']}" for props in FUNCTIONS.values() for e in events(props, "HttpApi")}


# ---------------------------------------------------------------- alarms
ALARM_TOPIC = "AlarmTopic"
ALARMS = {lid: res["Properties"] for lid, res in of_type("AWS::CloudWatch::Alarm").items()}
QUEUES = {lid: res["Properties"] for lid, res in of_type("AWS::SQS::Queue").items()}


def dlq_of(queue: str) -> str | None:
    target = get_att(QUEUES[queue].get("RedrivePolicy", {}).get("deadLetterTargetArn"))
    return target[0] if target else None


def dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


def is_depth_alarm_of(alarm: dict[str, Any], queue: str) -> bool:
    return (
        alarm.get("Namespace") == "AWS/SQS"
        and alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and get_att(dimensions(alarm).get("QueueName")) == (queue, "QueueName")
        and alarm.get("ComparisonOperator") == "GreaterThanThreshold"
        and float(alarm.get("Threshold", -1)) == 0
    )


# ---------------------------------------------------------------- canaries
ALIAS = "live"
CANARY = "Canary10Percent5Minutes"


def rollback_alarms(props: dict[str, Any]) -> list[str]:
    return [ref(a) for a in props.get("DeploymentPreference", {}).get("Alarms") or []]


def is_errors_alarm_of(alarm: dict[str, Any], fn: str) -> bool:
    """Errors of the version the alias runs (ExecutedVersion), so that a new version is judged
    by its own errors, not by the old version's."""
    dims = dimensions(alarm)
    return (
        alarm.get("Namespace") == "AWS/Lambda"
        and alarm.get("MetricName") == "Errors"
        and ref(dims.get("FunctionName")) == fn
        and dims.get("Resource") == {"Fn::Sub": f"${{{fn}}}:{ALIAS}"}
        and get_att(dims.get("ExecutedVersion")) == (fn, "Version.Version")
        and alarm.get("Statistic") == "Sum"
        and alarm.get("ComparisonOperator") == "GreaterThanThreshold"
        and float(alarm.get("Threshold", -1)) == 0
    )


class HttpApiTest(unittest.TestCase):
    API_PROPS: dict[str, Any] = RESOURCES[API]["Properties"]

    def test_every_route_is_on_the_one_explicit_api(self) -> None:
        self.assertEqual(RESOURCES[API]["Type"], "AWS::Serverless::HttpApi")
        self.assertEqual(list(of_type("AWS::Serverless::HttpApi")), [API])
        for fn, props in FUNCTIONS.items():
            for route in events(props, "HttpApi"):
                with self.subTest(fn=fn, path=route["Path"]):
                    self.assertEqual(ref(route.get("ApiId")), API)

    def test_login_register_and_transfer_are_throttled_harder_than_the_default(self) -> None:
        default = self.API_PROPS["DefaultRouteSettings"]
        settings = self.API_PROPS["RouteSettings"]
        self.assertGreater(default["ThrottlingRateLimit"], 0)
        self.assertGreater(default["ThrottlingBurstLimit"], 0)
        for route in STRICT_ROUTES:
            with self.subTest(route):
                self.assertIn(route, ROUTES)
                self.assertLess(settings[route]["ThrottlingRateLimit"], default["ThrottlingRateLimit"])
                self.assertLess(settings[route]["ThrottlingBurstLimit"], default["ThrottlingBurstLimit"])

    def test_every_route_setting_names_a_route(self) -> None:
        # API Gateway refuses a stage whose RouteSettings name a route the API does not have.
        self.assertEqual(set(self.API_PROPS["RouteSettings"]) - ROUTES, set())

    def test_access_logs_are_json_with_the_request_ids_into_a_retained_log_group(self) -> None:
        settings = self.API_PROPS["AccessLogSettings"]
        entry = json.loads(settings["Format"])
        for variable in (
            "$context.requestId",
            "$context.extendedRequestId",
            "$context.integration.requestId",
            "$context.routeKey",
            "$context.status",
            "$context.responseLatency",
            "$context.integration.latency",
            "$context.identity.sourceIp",
        ):
            with self.subTest(variable):
                self.assertIn(variable, entry.values())
        for value in entry.values():
            self.assertRegex(value, r"^\$context\.[A-Za-z.]+$")
        group = get_att(settings["DestinationArn"])
        self.assertEqual(group[1], "Arn")
        self.assertEqual(RESOURCES[group[0]]["Type"], "AWS::Logs::LogGroup")
        self.assertGreater(RESOURCES[group[0]]["Properties"]["RetentionInDays"], 0)


class AlarmTest(unittest.TestCase):
    def test_every_dlq_has_a_depth_alarm(self) -> None:
        # A DLQ: a queue's redrive target, or where a rule puts what it could not deliver.
        dlqs = {dlq_of(q) for q in QUEUES} - {None}
        for rule in of_type("AWS::Events::Rule").values():
            for target in rule["Properties"].get("Targets", []):
                if "DeadLetterConfig" in target:
                    dlqs.add(get_att(target["DeadLetterConfig"]["Arn"])[0])
        for dlq in sorted(dlqs):
            with self.subTest(dlq):
                self.assertTrue(any(is_depth_alarm_of(a, dlq) for a in ALARMS.values()), f"no depth alarm on {dlq}")

    def test_every_alarm_notifies_the_alarm_topic(self) -> None:
        self.assertEqual(RESOURCES[ALARM_TOPIC]["Type"], "AWS::SNS::Topic")
        for lid, alarm in ALARMS.items():
            with self.subTest(lid):
                self.assertIn(ALARM_TOPIC, [ref(a) for a in alarm.get("AlarmActions", [])])

    def test_the_alarm_email_is_optional(self) -> None:
        subscriptions = [
            res for res in of_type("AWS::SNS::Subscription").values() if ref(res["Properties"]["TopicArn"]) == ALARM_TOPIC
        ]
        self.assertEqual(len(subscriptions), 1)
        self.assertEqual(subscriptions[0]["Condition"], "HasAlarmEmail")
        self.assertEqual(SAM["Parameters"]["AlarmEmail"]["Default"], "")

    def test_the_5xx_alarm_watches_this_api(self) -> None:
        watched = [
            q["MetricStat"]["Metric"]
            for alarm in ALARMS.values()
            for q in alarm.get("Metrics", [])
            if "MetricStat" in q and q["MetricStat"]["Metric"]["MetricName"] == "5xx"
        ]
        self.assertTrue(watched, "no alarm on the API's 5xx")
        for metric in watched:
            self.assertEqual(metric["Namespace"], "AWS/ApiGateway")
            self.assertEqual(ref(dimensions(metric)["ApiId"]), API)

    def test_the_outbox_backlog_alarm_reads_what_the_sweeper_emits(self) -> None:
        """Drift guard between the alarm and the sweeper's metrics: the names are read from the
        Rust source (shared/src/telemetry/metrics.rs, and the service the sweeper's entry point
        names), since nothing else publishes them."""
        root = provision.ROOT
        catalog = (root / "shared" / "src" / "telemetry" / "metrics.rs").read_text(encoding="utf-8")
        sweeper = (root / "functions" / "outbox" / "src" / "bin" / "outbox-sweeper.rs").read_text(encoding="utf-8")
        metrics = [q["MetricStat"]["Metric"] for q in ALARMS["OutboxBacklogAlarm"]["Metrics"] if "MetricStat" in q]
        self.assertEqual(len(metrics), 3)
        for metric in metrics:
            with self.subTest(metric["MetricName"]):
                self.assertIn(f'pub const NAMESPACE: &str = "{metric["Namespace"]}";', catalog)
                self.assertRegex(catalog, rf'pub const OUTBOX_\w+: &str = "{metric["MetricName"]}";')
                # Every FinFlow metric's dimensions start with these two, in this order.
                self.assertEqual(list(dimensions(metric)), ["Service", "Stage"])
                self.assertIn('.with_dimension("Service", service)', catalog)
                self.assertIn('.with_dimension("Stage", stage)', catalog)
                self.assertIn(f'telemetry::init("{dimensions(metric)["Service"]}")', sweeper)
                self.assertEqual(dimensions(metric)["Stage"], {"Ref": "Stage"})


class DeploymentTest(unittest.TestCase):
    def test_there_are_functions_consumers_and_dlqs_to_check(self) -> None:
        self.assertGreaterEqual(len(FUNCTIONS), 25)
        self.assertGreaterEqual(sum(1 for p in FUNCTIONS.values() if events(p, "SQS")), 9)
        self.assertGreaterEqual(len({dlq_of(q) for q in QUEUES} - {None}), 9)

    def test_every_function_is_published_as_live_and_shifted_by_a_canary_without_hooks(self) -> None:
        for fn, props in FUNCTIONS.items():
            with self.subTest(fn):
                self.assertEqual(props.get("AutoPublishAlias"), ALIAS)
                self.assertIs(props.get("AutoPublishAliasAllProperties"), True)
                preference = props.get("DeploymentPreference", {})
                self.assertEqual(preference.get("Type"), CANARY)
                self.assertNotIn("Hooks", preference)
                self.assertNotIn(preference.get("Enabled"), (False, "false", "False"))

    def test_every_function_rolls_back_on_its_own_errors(self) -> None:
        for fn, props in FUNCTIONS.items():
            with self.subTest(fn):
                own = [a for a in rollback_alarms(props) if a in ALARMS and is_errors_alarm_of(ALARMS[a], fn)]
                self.assertEqual(len(own), 1, f"{fn}: DeploymentPreference.Alarms names no Errors alarm of its alias")

    def test_every_consumer_rolls_back_when_its_dlq_fills(self) -> None:
        for fn, props in FUNCTIONS.items():
            for source in events(props, "SQS"):
                queue = get_att(source["Queue"])[0]
                dlq = dlq_of(queue)
                with self.subTest(fn=fn, queue=queue):
                    self.assertIsNotNone(dlq, f"{queue} has no DLQ")
                    self.assertTrue(
                        any(a in ALARMS and is_depth_alarm_of(ALARMS[a], dlq) for a in rollback_alarms(props)),
                        f"{fn}: DeploymentPreference.Alarms has no depth alarm of {dlq}",
                    )

    def test_every_rollback_alarm_is_an_alarm_of_this_template(self) -> None:
        for fn, props in FUNCTIONS.items():
            with self.subTest(fn):
                self.assertTrue(set(rollback_alarms(props)) <= set(ALARMS), rollback_alarms(props))


class TransformedTest(unittest.TestCase):
    """What SAM makes of it: every way a function is invoked goes through its alias (else the
    canary would shift nothing), and every function has a CodeDeploy group with its alarms."""

    @classmethod
    def setUpClass(cls) -> None:
        os.environ.setdefault("AWS_DEFAULT_REGION", provision.DEFAULT_REGION)
        params = provision.parameter_values(SAM, provision.LOCAL_PARAMETERS)
        cls.cfn = provision.sam_transform(SAM, params, None)["Resources"]

    def of_type(self, kind: str) -> dict[str, Any]:
        return {lid: res for lid, res in self.cfn.items() if res["Type"] == kind}

    def is_alias(self, lid: str | None) -> bool:
        return lid is not None and self.cfn[lid]["Type"] == "AWS::Lambda::Alias"

    def test_event_sources_schedules_and_permissions_invoke_the_alias(self) -> None:
        for lid, res in self.of_type("AWS::Lambda::EventSourceMapping").items():
            with self.subTest(lid):
                self.assertTrue(self.is_alias(ref(res["Properties"]["FunctionName"])))
        for lid, res in self.of_type("AWS::Lambda::Permission").items():
            with self.subTest(lid):
                self.assertTrue(self.is_alias(ref(res["Properties"]["FunctionName"])))
        functions = set(self.of_type("AWS::Lambda::Function"))
        for lid, res in self.of_type("AWS::Events::Rule").items():
            for target in res["Properties"].get("Targets", []):
                if ref(target["Arn"]) in functions or (get_att(target["Arn"]) or ("",))[0] in functions:
                    self.fail(f"{lid} invokes a function's $LATEST instead of its alias")

    def test_the_api_integrates_with_the_aliases(self) -> None:
        (api,) = self.of_type("AWS::ApiGatewayV2::Api").values()
        uris = [
            op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            for path in api["Properties"]["Body"]["paths"].values()
            for op in path.values()
        ]
        self.assertEqual(len(uris), len(ROUTES))
        for uri in uris:
            with self.subTest(uri):
                (target,) = re.findall(r"/functions/\$\{(\w+)\}/invocations", uri)
                self.assertTrue(self.is_alias(target))

    def test_every_function_has_a_canary_deployment_group_watching_its_alarms(self) -> None:
        groups = self.of_type("AWS::CodeDeploy::DeploymentGroup")
        for fn, props in FUNCTIONS.items():
            with self.subTest(fn):
                group = groups[f"{fn}DeploymentGroup"]["Properties"]
                self.assertEqual(group["DeploymentConfigName"]["Fn::Sub"][1]["ConfigName"], CANARY)
                self.assertTrue(group["AlarmConfiguration"]["Enabled"])
                self.assertEqual([ref(a["Name"]) for a in group["AlarmConfiguration"]["Alarms"]], rollback_alarms(props))
                self.assertIn("DEPLOYMENT_STOP_ON_ALARM", group["AutoRollbackConfiguration"]["Events"])


if __name__ == "__main__":
    unittest.main()
