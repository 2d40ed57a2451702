"""The deployment invariants of template.yaml (issue 14), so that a queue or route added later
cannot leave them out: every DLQ has a depth alarm; every alarm notifies AlarmTopic; every
route is on the one HTTP API, whose throttles and access log hold what the README promises.
Read with provision.py's loader (it knows CloudFormation's short tags). No emulator:
`infra/.venv/bin/python -m unittest infra/test_template.py` (infra/test runs it with the lint
step)."""

from __future__ import annotations

import json
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
]


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
        """Drift guard between the alarm and sweep_metrics (shared/src/outbox.rs): the names are
        read from the Rust source, since nothing else publishes them."""
        source = (provision.ROOT / "shared" / "src" / "outbox.rs").read_text(encoding="utf-8")
        emitted = source[source.index("pub fn sweep_metrics"):]
        emitted = emitted[: emitted.index("\n}\n")]
        metrics = [q["MetricStat"]["Metric"] for q in ALARMS["OutboxBacklogAlarm"]["Metrics"] if "MetricStat" in q]
        self.assertEqual(len(metrics), 3)
        for metric in metrics:
            with self.subTest(metric["MetricName"]):
                self.assertIn(f'"Namespace": "{metric["Namespace"]}"', emitted)
                self.assertIn(f'{{ "Name": "{metric["MetricName"]}", "Unit": "Count" }}', emitted)
                for name, value in dimensions(metric).items():
                    self.assertIn(f'"{name}": "{value}"', emitted)


if __name__ == "__main__":
    unittest.main()
