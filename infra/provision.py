#!/usr/bin/env python3
"""Provision the local cloud emulator from template.yaml and write the runner manifest.

Steps (see DESIGN.md section 5):
  1. parse template.yaml and transform it with the real aws-sam-translator;
  2. strip what the emulator does not run (Lambda, IAM, API Gateway: functions run as
     native processes through the Rust runner `finflow-local`);
  3. create (or update) the CloudFormation stack on the emulator and wait for it;
     when AWS_ENDPOINT_URL_DYNAMODB names another endpoint (DynamoDB Local, see
     infra/test-dynamodb-local), the tables are created there through the DynamoDB API
     instead and left out of the stack (see `create_tables_direct`);
  4. apply through the service APIs the few properties/resources the emulator's
     CloudFormation ignores (see `reconcile`) or rejects (`API_ONLY`: declared in
     infra/emulators/capabilities.json), so the local resources match the template;
  5. write infra/.state/stack.json (the contract the runner reads) and infra/.state/env.

Run it with infra/.venv/bin/python (infra/up and infra/test do).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = ROOT / "template.yaml"
DEFAULT_STATE_DIR = Path(os.environ.get("FINFLOW_STATE_DIR") or ROOT / "infra" / ".state")
DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
DEFAULT_REGION = "us-east-1"
DEFAULT_STACK = "finflow-local"

# Parameter overrides for the local platform.
LOCAL_PARAMETERS = {
    "Stage": "local",
    "QueueVisibilityTimeout": "2",
    "MaxReceiveCount": "3",
    # The outbox sweeper publishes rows older than this; 10 minutes on AWS, seconds here so
    # its system test need not wait (the stream publishes well within it).
    "OutboxSweepGraceSeconds": "5",
    "LogLevel": "INFO",
    # finflow-local's gateway port serves every route, as the one API Gateway does on AWS.
    "PublicApiUrl": "http://127.0.0.1:8000",
}

# Resource types the emulator does not run: functions run natively via finflow-local (and
# with them their versions and aliases), and HTTP routing is done by the runner too. IAM is
# not enforced locally.
STRIPPED_TYPE_PREFIXES = (
    "AWS::Lambda::",
    "AWS::IAM::",
    "AWS::ApiGateway::",
    "AWS::ApiGatewayV2::",
    "AWS::CodeDeploy::",  # SAM DeploymentPreference (traffic shifting of Lambda aliases)
    # Alarms watch metrics that Lambda, API Gateway and the functions' embedded-metric lines
    # publish on AWS; locally nothing publishes or evaluates them, and nothing deploys by canary.
    "AWS::CloudWatch::",
    # Log groups that Lambda and API Gateway write to; locally the runner keeps the logs.
    "AWS::Logs::",
    "AWS::Serverless::",  # nothing should survive the transform, but be safe
)

# Name properties, for resources whose physical id the emulator does not report.
NAME_PROPERTIES = {
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Archive": "ArchiveName",
    "AWS::Events::Rule": "Name",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
}

TERMINAL_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
HASH_TAG = "finflow:template-sha256"
CAPABILITIES = ROOT / "infra" / "emulators" / "capabilities.json"


# --------------------------------------------------------------------------- emulator


def emulator_name(endpoint: str) -> str:
    """Which emulator serves the endpoint: FINFLOW_EMULATOR (the scripts set it for the one
    they start); else, for an endpoint somebody else runs, its health route names it (only to
    look up its entry in capabilities.json; nothing else uses these routes)."""
    named = os.environ.get("FINFLOW_EMULATOR")
    if named:
        return named
    import urllib.error
    import urllib.request

    for name, path in (("ministack", "/_ministack/health"), ("localstack", "/_localstack/health"),
                       ("moto", "/moto-api/")):
        try:
            with urllib.request.urlopen(endpoint.rstrip("/") + path, timeout=5) as r:
                if r.status == 200:
                    return name
        except (urllib.error.URLError, OSError, ValueError):
            pass
    return "unknown"


def emulator_entry(name: str) -> dict[str, Any]:
    """The emulator's entry of capabilities.json, with the tests it cannot run:
    {"name", "release", "lacks": {capability: reason}, "skip_tests": [{"test", "reason"}]}."""
    caps = json.loads(CAPABILITIES.read_text(encoding="utf-8"))
    entry = caps["emulators"].get(name, {})
    lacks: dict[str, str] = entry.get("lacks", {})
    skip = [
        {"test": test, "capability": cap, "reason": f"{name} lacks {cap}: {lacks[cap]}"}
        for cap, tests in caps["tests"].items()
        if cap in lacks
        for test in tests
    ]
    if name not in caps["emulators"]:
        log(f"warning: emulator '{name}' is not in {CAPABILITIES.relative_to(ROOT)}; assuming it lacks nothing "
            "(set FINFLOW_EMULATOR to name it)")
    return {"name": name, "release": entry.get("release", ""), "lacks": lacks, "skip_tests": skip}


def api_only_types(emulator: dict[str, Any]) -> set[str]:
    """Resource types the emulator's CloudFormation rejects, which provision.py creates
    through the service API instead (each needs a function in API_ONLY)."""
    prefix = "cloudformation:"
    types = {cap[len(prefix):] for cap in emulator["lacks"] if cap.startswith(prefix)}
    unknown = types - set(API_ONLY)
    if unknown:
        die(f"{emulator['name']}'s CloudFormation lacks {', '.join(sorted(unknown))}, "
            "and provision.py has no API fallback for it")
    return types


def log(msg: str) -> None:
    print(f"[provision] {msg}", file=sys.stderr, flush=True)


def die(msg: str) -> None:
    print(f"[provision] ERROR: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


# --------------------------------------------------------------------------- template


def load_template(path: Path) -> dict[str, Any]:
    # samtranslator's parser understands the !Ref/!GetAtt/!Sub... short forms.
    from samtranslator.yaml_helper import yaml_parse

    with open(path, encoding="utf-8") as f:
        return yaml_parse(f.read())


def parameter_values(sam: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    """Every template parameter's value: the override, else its default."""
    declared = sam.get("Parameters", {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        die(f"parameter overrides not declared in the template: {', '.join(unknown)}")
    params = {k: str(p["Default"]) for k, p in declared.items() if "Default" in p}
    params.update(overrides)
    missing = sorted(k for k in declared if k not in params)
    if missing:
        die(f"no value for parameters: {', '.join(missing)}")
    return params


class LazyManagedPolicyLoader:
    """Managed policy name -> ARN map for SAM, loaded from the emulator's IAM only if
    the template names a managed policy (policy templates do not need it)."""

    def __init__(self, iam_client: Any) -> None:
        self._iam = iam_client
        self._map: dict[str, str] | None = None

    def load(self) -> dict[str, str]:
        if self._map is None:
            from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader

            try:
                self._map = ManagedPolicyLoader(self._iam).load()
            except Exception as e:  # noqa: BLE001 - IAM is irrelevant locally
                log(f"warning: could not list managed policies from the emulator ({e}); using none")
                self._map = {}
        return self._map


def sam_transform(sam: dict[str, Any], params: dict[str, str], iam_client: Any) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    # Without a feature-toggle configuration (SAM's service has one; a local transform does
    # not) every feature SAM asks about is off, with a warning per function and feature.
    logging.getLogger("samtranslator.feature_toggle").setLevel(logging.ERROR)
    sam = copy.deepcopy(sam)
    # SAM insists on an S3 location for CodeUri; the code is never deployed locally
    # (and the Lambda resources are stripped below), so any placeholder does.
    for lid, res in sam.get("Resources", {}).items():
        if res.get("Type") == "AWS::Serverless::Function":
            props = res.setdefault("Properties", {})
            if "InlineCode" not in props:
                props["CodeUri"] = f"s3://finflow-local-placeholder/{lid}.zip"
    globals_fn = sam.get("Globals", {}).get("Function", {})
    if "CodeUri" in globals_fn:
        globals_fn["CodeUri"] = "s3://finflow-local-placeholder/code.zip"
    try:
        return transform(sam, dict(params), LazyManagedPolicyLoader(iam_client))
    except Exception as e:  # InvalidDocumentException carries a list of causes
        causes = getattr(e, "causes", None)
        detail = "\n  ".join(str(c) for c in causes) if causes else str(e)
        die(f"SAM transform failed:\n  {detail}")
        raise  # unreachable


def referenced_names(obj: Any) -> set[str]:
    """Logical ids / parameter names referenced by Ref, Fn::GetAtt and Fn::Sub in obj."""
    out: set[str] = set()
    if isinstance(obj, dict):
        if len(obj) == 1:
            (k, v), = obj.items()
            if k == "Ref" and isinstance(v, str):
                out.add(v)
            elif k == "Fn::GetAtt":
                if isinstance(v, list) and v and isinstance(v[0], str):
                    out.add(v[0])
                elif isinstance(v, str):
                    out.add(v.split(".", 1)[0])
            elif k == "Fn::Sub":
                text, local_vars = (v, {}) if isinstance(v, str) else (v[0], v[1] if len(v) > 1 else {})
                for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                    base = name.split(".", 1)[0]
                    if base not in local_vars:
                        out.add(base)
                out |= referenced_names(local_vars)
                return out
        for v in obj.values():
            out |= referenced_names(v)
    elif isinstance(obj, list):
        for v in obj:
            out |= referenced_names(v)
    return out


def strip_for_emulator(
    cfn: dict[str, Any], holds: Callable[[str], bool] = lambda _: True
) -> tuple[dict[str, Any], list[str]]:
    """The template without what the emulator does not run (STRIPPED_TYPE_PREFIXES) and
    without the resources whose Condition does not hold (`holds(name)`), as CloudFormation
    would leave them out: decided here, so that no emulator's handling of Conditions matters
    and `reconcile` never applies one through the service APIs."""
    cfn = copy.deepcopy(cfn)
    resources: dict[str, Any] = cfn["Resources"]
    removed = {lid for lid, r in resources.items() if r.get("Type", "").startswith(STRIPPED_TYPE_PREFIXES)}
    notes: list[str] = []
    for lid, res in resources.items():
        if lid not in removed and "Condition" in res and not holds(res["Condition"]):
            removed.add(lid)
            notes.append(f"{lid} ({res.get('Type')}) left out: its condition {res['Condition']} is false")

    # Kept resources that still point at a removed one: drop rule targets that are
    # functions (the runner would have to deliver those), drop anything else entirely.
    changed = True
    while changed:
        changed = False
        for lid, res in resources.items():
            if lid in removed:
                continue
            props = res.get("Properties", {})
            if res.get("Type") == "AWS::Events::Rule" and props.get("Targets"):
                kept = [t for t in props["Targets"] if not (referenced_names(t) & removed)]
                if len(kept) != len(props["Targets"]):
                    notes.append(f"{lid}: dropped {len(props['Targets']) - len(kept)} target(s) pointing at stripped resources")
                    props["Targets"] = kept
                    if not kept:
                        del props["Targets"]
            if referenced_names(props) & removed:
                removed.add(lid)
                notes.append(f"{lid} ({res.get('Type')}) dropped: it references stripped resources")
                changed = True

    for lid in removed:
        del resources[lid]
    for res in resources.values():
        dep = res.get("DependsOn")
        if isinstance(dep, str) and dep in removed:
            del res["DependsOn"]
        elif isinstance(dep, list):
            dep = [d for d in dep if d not in removed]
            if dep:
                res["DependsOn"] = dep
            else:
                del res["DependsOn"]
    for lid, res in resources.items():
        props = res.get("Properties", {})
        # moto quirk: its AWS::Events::Archive json.loads() EventPattern and fails with
        # HTTP 500 on the object form (its Rule converts, its Archive doesn't). The
        # JSON-string form is equally valid CloudFormation, so pass that.
        if res.get("Type") == "AWS::Events::Archive" and isinstance(props.get("EventPattern"), dict):
            props["EventPattern"] = json.dumps(props["EventPattern"], separators=(",", ":"))
    outputs = cfn.get("Outputs", {})
    for name in [n for n, o in outputs.items() if referenced_names(o) & removed]:
        del outputs[name]
    if not outputs:
        cfn.pop("Outputs", None)
    return cfn, notes


# --------------------------------------------------------------------------- stack


def service_endpoint_env(service_id: str) -> str:
    """The per-service endpoint variable the AWS SDKs (Rust and boto3 alike) honour:
    service id "DynamoDB Streams" -> AWS_ENDPOINT_URL_DYNAMODB_STREAMS."""
    return "AWS_ENDPOINT_URL_" + service_id.upper().replace(" ", "_").replace("-", "_")


class Aws:
    """boto3 clients for the local endpoint. As in the SDKs, a per-service variable
    (AWS_ENDPOINT_URL_DYNAMODB, ...) routes that one service elsewhere, e.g. DynamoDB to
    DynamoDB Local while everything else stays on moto."""

    def __init__(self, endpoint: str, region: str) -> None:
        import boto3
        import botocore.session
        from botocore.config import Config

        cfg = Config(
            region_name=region,
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        )
        self._botocore = botocore.session.get_session()
        self._session = boto3.session.Session(region_name=region, botocore_session=self._botocore)
        self._endpoint = endpoint
        self._cfg = cfg
        self._clients: dict[str, Any] = {}

    def endpoint_for(self, service: str) -> str:
        service_id = self._botocore.get_service_model(service).service_id
        return os.environ.get(service_endpoint_env(str(service_id))) or self._endpoint

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(
                service, endpoint_url=self.endpoint_for(service), config=self._cfg
            )
        return self._clients[service]


def client_error_code(e: Exception) -> str:
    return getattr(e, "response", {}).get("Error", {}).get("Code", "")


def describe_stack(cf: Any, name: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        stacks = cf.describe_stacks(StackName=name)["Stacks"]
    except ClientError as e:
        if "does not exist" in str(e) or client_error_code(e) in ("ValidationError", "ResourceNotFoundException"):
            return None
        raise
    live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
    return live[0] if live else None


def wait_stack(cf: Any, name: str, timeout: float = 300.0) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        stack = describe_stack(cf, name)
        if stack is None or not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        if time.monotonic() > deadline:
            die(f"stack {name} still {stack['StackStatus']} after {timeout:.0f}s")
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def report_failure(cf: Any, name: str, status: str) -> None:
    lines = [f"stack {name} ended in {status}"]
    try:
        events = cf.describe_stack_events(StackName=name)["StackEvents"]
        for ev in reversed(events):
            if ev.get("ResourceStatus", "").endswith("FAILED") or ev.get("ResourceStatusReason"):
                lines.append(
                    f"  {ev.get('LogicalResourceId')} ({ev.get('ResourceType')}): "
                    f"{ev.get('ResourceStatus')} {ev.get('ResourceStatusReason', '')}"
                )
    except Exception as e:  # noqa: BLE001
        lines.append(f"  (could not read stack events: {e})")
    die("\n".join(lines))


def deploy_stack(cf: Any, name: str, body: str, params: dict[str, str], digest: str) -> None:
    from botocore.exceptions import ClientError

    parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(params.items())]
    tags = [{"Key": HASH_TAG, "Value": digest}]

    # moto runs CloudFormation synchronously; a stack still in progress here is one
    # another process is deploying (LocalStack), or one moto got stuck on.
    stack = wait_stack(cf, name, timeout=60.0)
    if stack is not None and stack["StackStatus"] not in TERMINAL_OK | {"UPDATE_ROLLBACK_COMPLETE"}:
        # ROLLBACK_COMPLETE / *_FAILED stacks cannot be updated: start over.
        log(f"stack {name} is {stack['StackStatus']}; deleting it and creating it again")
        cf.delete_stack(StackName=name)
        wait_stack(cf, name)
        stack = None

    try:
        if stack is None:
            log(f"creating stack {name}")
            cf.create_stack(StackName=name, TemplateBody=body, Parameters=parameters, Tags=tags)
            final = "CREATE_COMPLETE"
        else:
            current = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}.get(HASH_TAG)
            if current == digest:
                log(f"stack {name} is up to date ({stack['StackStatus']})")
                return
            log(f"updating stack {name}")
            try:
                cf.update_stack(StackName=name, TemplateBody=body, Parameters=parameters, Tags=tags)
            except ClientError as e:
                if "No updates are to be performed" in str(e):
                    log(f"stack {name}: no updates to perform")
                    return
                raise
            final = "UPDATE_COMPLETE"
    except Exception as e:  # noqa: BLE001 - ClientError, or moto's HTTP 500 on a resource it fails on
        if stack is None:
            # moto leaves a stack whose resource creation raised in CREATE_IN_PROGRESS
            # forever; delete it so the next run starts clean.
            try:
                cf.delete_stack(StackName=name)
            except Exception:  # noqa: BLE001
                pass
        die(
            f"the emulator's CloudFormation failed on stack {name}: {e}\n"
            "  emulators log the failing resource in infra/.state/emulator.log;\n"
            "  with a long-running emulator, `infra/emulator.sh stop` and run again for a fresh one"
        )
        return

    stack = wait_stack(cf, name)
    if stack is None:
        die(f"stack {name} disappeared while deploying")
    if stack["StackStatus"] != final:
        report_failure(cf, name, stack["StackStatus"])
    log(f"stack {name}: {stack['StackStatus']}")


# --------------------------------------------------------------------------- resolution


class NoValue:
    pass


class Resolver:
    """Resolves CloudFormation intrinsics against the live stack on the emulator."""

    def __init__(
        self,
        aws: Aws,
        sam: dict[str, Any],
        params: dict[str, str],
        region: str,
        account_id: str,
        stack_name: str,
        physical: dict[str, str],
    ) -> None:
        self.aws = aws
        self.sam = sam
        self.resources: dict[str, Any] = sam.get("Resources", {})
        self.params = params
        self.physical = physical
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NoValue(),
        }
        self.region = region
        self.account_id = account_id
        self._cache: dict[tuple[str, str], Any] = {}

    def type_of(self, lid: str) -> str:
        if lid not in self.resources:
            raise KeyError(f"unknown resource {lid}")
        return self.resources[lid]["Type"]

    # -- describe calls (cached)
    def _memo(self, key: tuple[str, str], fn: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def table(self, lid: str) -> dict[str, Any]:
        return self._memo(("table", lid), lambda: self.aws("dynamodb").describe_table(TableName=self.physical[lid])["Table"])

    def queue_url(self, lid: str) -> str:
        # Ask the emulator rather than trusting the physical id: moto reports
        # https://sqs.<region>.amazonaws.com/... while serving http://<endpoint>/...
        name = self.physical[lid].rstrip("/").rsplit("/", 1)[-1]
        return self._memo(("queue_url", lid), lambda: self.aws("sqs").get_queue_url(QueueName=name)["QueueUrl"])

    def queue_attrs(self, lid: str) -> dict[str, str]:
        return self._memo(
            ("queue_attrs", lid),
            lambda: self.aws("sqs").get_queue_attributes(QueueUrl=self.queue_url(lid), AttributeNames=["All"])["Attributes"],
        )

    def bus(self, lid: str) -> dict[str, Any]:
        return self._memo(("bus", lid), lambda: self.aws("events").describe_event_bus(Name=self.physical[lid]))

    def archive(self, lid: str) -> dict[str, Any]:
        return self._memo(("archive", lid), lambda: self.aws("events").describe_archive(ArchiveName=self.physical[lid]))

    def rule(self, lid: str) -> dict[str, Any]:
        def load() -> dict[str, Any]:
            props = self.resources[lid].get("Properties", {})
            name = self.resolve(props["Name"]) if "Name" in props else self.physical[lid].split("|")[-1]
            bus = self.resolve(props.get("EventBusName", "default"))
            return self.aws("events").describe_rule(Name=name, EventBusName=bus)

        return self._memo(("rule", lid), load)

    def function_name(self, lid: str) -> str:
        props = self.resources[lid].get("Properties", {})
        if "FunctionName" in props:
            return str(self.resolve(props["FunctionName"]))
        return f"{self.pseudo['AWS::StackName']}-{lid}"

    # -- intrinsics
    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        t = self.type_of(name)
        if t == "AWS::SQS::Queue":
            return self.queue_url(name)
        if t in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            return self.function_name(name)
        if t == "AWS::SecretsManager::Secret":
            # Ref is the ARN on AWS; emulators may keep the name as the physical id.
            return self._memo(
                ("secret", name),
                lambda: self.aws("secretsmanager").describe_secret(SecretId=self.physical[name])["ARN"],
            )
        if name in self.physical:
            return self.physical[name]
        raise KeyError(f"cannot resolve Ref {name}: not a parameter and not in the stack")

    def get_att(self, lid: str, attr: str) -> Any:
        t = self.type_of(lid)
        if t == "AWS::DynamoDB::Table":
            if attr == "Arn":
                return self.table(lid)["TableArn"]
            if attr == "StreamArn":
                arn = self.table(lid).get("LatestStreamArn")
                if not arn:
                    raise KeyError(f"{lid} has no stream")
                return arn
        elif t == "AWS::SQS::Queue":
            if attr == "Arn":
                return self.queue_attrs(lid)["QueueArn"]
            if attr == "QueueUrl":
                return self.queue_url(lid)
            if attr == "QueueName":
                return self.queue_url(lid).rsplit("/", 1)[-1]
        elif t == "AWS::Events::EventBus":
            if attr in ("Arn", "Name"):
                return self.bus(lid)[attr]
        elif t == "AWS::Events::Archive":
            if attr == "Arn":
                return self.archive(lid)["ArchiveArn"]
            if attr == "ArchiveName":
                return self.archive(lid)["ArchiveName"]
        elif t == "AWS::Events::Rule":
            if attr == "Arn":
                return self.rule(lid)["Arn"]
        elif t == "AWS::SNS::Topic":
            if attr == "TopicArn":
                return self.physical[lid]
            if attr == "TopicName":
                return self.physical[lid].rsplit(":", 1)[-1]
        elif t in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            if attr == "Arn":
                return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name(lid)}"
        raise KeyError(f"cannot resolve Fn::GetAtt {lid}.{attr} ({t})")

    def sub(self, text: str, local_vars: dict[str, Any]) -> str:
        def repl(m: re.Match[str]) -> str:
            inner = m.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in local_vars:
                return str(self.resolve(local_vars[inner]))
            if "." in inner and not inner.startswith("AWS::"):
                lid, attr = inner.split(".", 1)
                return str(self.get_att(lid, attr))
            return str(self.ref(inner))

        return re.sub(r"\$\{([^}]+)\}", repl, text)

    def condition(self, name: str) -> bool:
        """A condition of the template's Conditions section (Fn::Equals, Fn::Not, Fn::And,
        Fn::Or, Condition), against the parameters."""
        conditions = self.sam.get("Conditions", {})
        if name not in conditions:
            raise KeyError(f"unknown condition {name}")

        def holds(expr: Any) -> bool:
            if isinstance(expr, dict) and len(expr) == 1:
                (k, v), = expr.items()
                if k == "Condition":
                    return self.condition(v)
                if k == "Fn::Equals":
                    a, b = (str(self.resolve(x)) for x in v)
                    return a == b
                if k == "Fn::Not":
                    return not holds(v[0])
                if k == "Fn::And":
                    return all(holds(x) for x in v)
                if k == "Fn::Or":
                    return any(holds(x) for x in v)
            raise KeyError(f"unsupported condition {expr} in {name}")

        return holds(conditions[name])

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(x) for x in value) if not isinstance(v, NoValue)]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (k, v), = value.items()
            if k == "Ref":
                return self.ref(v)
            if k == "Fn::GetAtt":
                lid, attr = (v.split(".", 1) if isinstance(v, str) else v)
                return self.get_att(lid, self.resolve(attr))
            if k == "Fn::Sub":
                if isinstance(v, str):
                    return self.sub(v, {})
                return self.sub(v[0], v[1] if len(v) > 1 else {})
            if k == "Fn::Join":
                sep, items = v
                return str(sep).join(str(x) for x in self.resolve(items))
            if k == "Fn::Select":
                idx, items = v
                return self.resolve(items)[int(self.resolve(idx))]
            if k == "Fn::Split":
                sep, s = v
                return str(self.resolve(s)).split(sep)
            if k == "Fn::If":
                name, if_true, if_false = v
                return self.resolve(if_true if self.condition(name) else if_false)
            if k == "Fn::ImportValue" or k.startswith("Fn::"):
                raise KeyError(f"unsupported intrinsic {k} in {value}")
        out = {}
        for k, v in value.items():
            r = self.resolve(v)
            if not isinstance(r, NoValue):
                out[k] = r
        return out


# --------------------------------------------------------------------------- reconcile


def is_true(value: Any) -> bool:
    return str(value).lower() == "true"


def reconcile_table(aws: Aws, lid: str, name: str, props: dict[str, Any]) -> None:
    """TTL and point-in-time recovery, which CreateTable cannot set (and moto's
    CloudFormation ignores): checked, then applied through the DynamoDB API."""
    from botocore.exceptions import ClientError

    ddb = aws("dynamodb")
    ttl = props.get("TimeToLiveSpecification")
    if ttl and is_true(ttl.get("Enabled")):
        cur = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if cur.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
            log(f"{lid}: enabled TTL on '{ttl['AttributeName']}' via API")
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr and is_true(pitr.get("PointInTimeRecoveryEnabled")):
        try:
            cur = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        except ClientError as e:
            # DynamoDB Local has no backups API at all (UnknownOperationException).
            if client_error_code(e) == "UnknownOperationException":
                log(f"{lid}: point-in-time recovery not applied: {aws.endpoint_for('dynamodb')} has no backups API")
                return
            raise
        status = cur.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
        if status != "ENABLED":
            ddb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
            log(f"{lid}: enabled point-in-time recovery via API")


# Subscription properties that are subscription attributes (SetSubscriptionAttributes).
SUBSCRIPTION_ATTRIBUTES = ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy", "DeliveryPolicy")


def reconcile_subscription(aws: Aws, lid: str, props: dict[str, Any]) -> None:
    """Subscribes the endpoint to the topic (once: an existing subscription of the same
    protocol and endpoint is reused) and sets the attributes the template gives it."""
    sns = aws("sns")
    topic, protocol, endpoint = props["TopicArn"], props["Protocol"], props["Endpoint"]
    existing = [
        s["SubscriptionArn"]
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic)
        for s in page["Subscriptions"]
        if s["Protocol"] == protocol and s["Endpoint"] == endpoint
    ]
    if existing:
        arn = existing[0]
    else:
        arn = sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=endpoint,
                            ReturnSubscriptionArn=True)["SubscriptionArn"]
        log(f"{lid}: subscribed {endpoint.rsplit(':', 1)[-1]} to {topic.rsplit(':', 1)[-1]} via Subscribe "
            "(moto's CloudFormation has no AWS::SNS::Subscription)")
    have = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    for key in SUBSCRIPTION_ATTRIBUTES:
        if key not in props:
            continue
        value = props[key]
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        elif isinstance(value, bool) or str(value).lower() in ("true", "false"):
            value = str(value).lower()
        else:
            value = str(value)
        if have.get(key) != value:
            sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName=key, AttributeValue=value)
            log(f"{lid}: set {key} via SetSubscriptionAttributes")


def reconcile(aws: Aws, resolver: Resolver, stripped: dict[str, Any], in_stack: set[str]) -> None:
    """Apply what moto's CloudFormation silently ignores (checked, then applied via the
    service APIs, so on an emulator that does implement them this is a no-op):
      - AWS::SQS::QueuePolicy is not a moto CloudFormation resource type at all;
      - DynamoDB TimeToLiveSpecification and PointInTimeRecoverySpecification are
        ignored by moto's AWS::DynamoDB::Table;
      - moto's AWS::SQS::Queue update only applies VisibilityTimeout;
      - AWS::SNS::Subscription is not a moto CloudFormation resource type either.
    """
    for lid, res in stripped["Resources"].items():
        t = res["Type"]
        props = resolver.resolve(res.get("Properties", {}))
        if t == "AWS::DynamoDB::Table":
            reconcile_table(aws, lid, resolver.physical[lid], props)
        elif t == "AWS::SQS::Queue":
            want: dict[str, str] = {}
            for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds",
                        "ReceiveMessageWaitTimeSeconds", "MaximumMessageSize"):
                if key in props:
                    want[key] = str(props[key])
            if "RedrivePolicy" in props:
                rp = props["RedrivePolicy"]
                want["RedrivePolicy"] = json.dumps(
                    {"deadLetterTargetArn": rp["deadLetterTargetArn"], "maxReceiveCount": int(rp["maxReceiveCount"])}
                )
            have = resolver.queue_attrs(lid)
            diff = {}
            for k, v in want.items():
                if k == "RedrivePolicy":
                    cur = json.loads(have.get(k) or "{}")
                    cur = {"deadLetterTargetArn": cur.get("deadLetterTargetArn"),
                           "maxReceiveCount": int(cur.get("maxReceiveCount") or 0)}
                    if cur != json.loads(v):
                        diff[k] = v
                elif str(have.get(k)) != v:
                    diff[k] = v
            if diff:
                aws("sqs").set_queue_attributes(QueueUrl=resolver.queue_url(lid), Attributes=diff)
                resolver._cache.pop(("queue_attrs", lid), None)
                log(f"{lid}: set {', '.join(sorted(diff))} via API")
        elif t == "AWS::SQS::QueuePolicy" and lid not in in_stack:
            policy = props["PolicyDocument"]
            for url in props.get("Queues", []):
                cur = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
                if json.loads(cur.get("Policy") or "null") != policy:
                    aws("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
                    log(f"{lid}: applied to {url.rsplit('/', 1)[-1]} via SetQueueAttributes "
                        "(moto's CloudFormation has no AWS::SQS::QueuePolicy)")
        elif t == "AWS::SNS::Subscription" and lid not in in_stack:
            reconcile_subscription(aws, lid, props)
        elif lid not in in_stack:
            log(f"warning: {lid} ({t}) was not created by the emulator's CloudFormation and is not applied")


# --------------------------------------------------------------------------- API-only resources
#
# Resource types an emulator's CloudFormation rejects outright (capabilities.json,
# "cloudformation:<type>"): left out of the stack and created through the service API after it,
# from the same template properties. One function per type; each is idempotent.


def create_archive(aws: Aws, resolver: Resolver, lid: str, props: dict[str, Any]) -> str:
    from botocore.exceptions import ClientError

    events = aws("events")
    name = str(props["ArchiveName"])
    want: dict[str, Any] = {"EventSourceArn": props["SourceArn"]}
    if "Description" in props:
        want["Description"] = str(props["Description"])
    if "EventPattern" in props:
        pattern = props["EventPattern"]
        want["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern, separators=(",", ":"))
    if "RetentionDays" in props:
        want["RetentionDays"] = int(props["RetentionDays"])
    try:
        events.describe_archive(ArchiveName=name)
    except ClientError as e:
        if client_error_code(e) != "ResourceNotFoundException":
            raise
        events.create_archive(ArchiveName=name, **want)
        log(f"{lid}: created archive {name} via CreateArchive (the emulator's CloudFormation rejects AWS::Events::Archive)")
        return name
    events.update_archive(ArchiveName=name, **{k: v for k, v in want.items() if k != "EventSourceArn"})
    log(f"{lid}: archive {name} exists; applied the template's properties via UpdateArchive")
    return name


def create_secret(aws: Aws, resolver: Resolver, lid: str, props: dict[str, Any]) -> str:
    """A Secrets Manager secret with a generated string, as GenerateSecretString makes one;
    an existing one keeps its value (provisioning again must not end every session). Its
    physical id is its ARN, as CloudFormation's Ref answers."""
    import secrets
    import string

    from botocore.exceptions import ClientError

    client = aws("secretsmanager")
    name = str(props["Name"])
    try:
        return client.describe_secret(SecretId=name)["ARN"]
    except ClientError as e:
        if client_error_code(e) != "ResourceNotFoundException":
            raise
    generate = props.get("GenerateSecretString") or {}
    alphabet = string.ascii_letters + string.digits
    if not is_true(generate.get("ExcludePunctuation", False)):
        alphabet += string.punctuation
    value = "".join(secrets.choice(alphabet) for _ in range(int(generate.get("PasswordLength", 32))))
    arn = client.create_secret(Name=name, Description=str(props.get("Description", "")), SecretString=value)["ARN"]
    log(f"{lid}: created secret {name} via CreateSecret (the emulator's CloudFormation skips AWS::SecretsManager::Secret)")
    return arn


API_ONLY = {"AWS::Events::Archive": create_archive, "AWS::SecretsManager::Secret": create_secret}


# --------------------------------------------------------------------------- tables elsewhere
#
# When AWS_ENDPOINT_URL_DYNAMODB names another endpoint than AWS_ENDPOINT_URL (DynamoDB
# Local, AWS's own engine, beside moto), the template's tables are created there through
# the DynamoDB API, and the CloudFormation stack sent to the emulator holds everything else.

TABLE_TYPE = "AWS::DynamoDB::Table"

# CloudFormation AWS::DynamoDB::Table properties that map onto CreateTable, and those
# applied after it (reconcile_table). Anything else is reported, not silently dropped.
TABLE_CREATE_PROPS = {
    "TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput",
    "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification", "SSESpecification",
    "TableClass", "DeletionProtectionEnabled", "Tags", "OnDemandThroughput",
}
TABLE_LATER_PROPS = {"TimeToLiveSpecification", "PointInTimeRecoverySpecification"}
INDEX_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput")


def split_tables(stripped: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stack template without its tables, and the tables by logical id."""
    stack = copy.deepcopy(stripped)
    tables = {lid: r for lid, r in stack["Resources"].items() if r.get("Type") == TABLE_TYPE}
    for lid in tables:
        del stack["Resources"][lid]
    for res in stack["Resources"].values():
        dep = res.get("DependsOn")
        deps = [dep] if isinstance(dep, str) else list(dep or [])
        kept = [d for d in deps if d not in tables]
        if len(kept) != len(deps):
            if kept:
                res["DependsOn"] = kept
            else:
                del res["DependsOn"]
    return stack, tables


def inline_table_refs(obj: Any, values: dict[str, dict[str, Any]]) -> Any:
    """Replace Ref / Fn::GetAtt / Fn::Sub references to tables that live outside the stack
    with their literal values (values[lid] maps "Ref", "Arn", "StreamArn" to values)."""

    def lookup(lid: str, attr: str) -> Any:
        if attr not in values[lid]:
            die(f"{lid}.{attr} is referenced by the stack but not known for a table created outside it")
        return values[lid][attr]

    if isinstance(obj, list):
        return [inline_table_refs(v, values) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        (k, v), = obj.items()
        if k == "Ref" and v in values:
            return lookup(v, "Ref")
        if k == "Fn::GetAtt":
            lid, attr = v.split(".", 1) if isinstance(v, str) else v
            if lid in values and isinstance(attr, str):
                return lookup(lid, attr)
        if k == "Fn::Sub":
            text, local_vars = (v, {}) if isinstance(v, str) else (v[0], v[1] if len(v) > 1 else {})

            def repl(m: re.Match[str]) -> str:
                inner = m.group(1)
                base, _, attr = inner.partition(".")
                if inner.startswith("!") or base in local_vars or base not in values:
                    return m.group(0)
                return str(lookup(base, attr or "Ref"))

            text = re.sub(r"\$\{([^}]+)\}", repl, text)
            local_vars = inline_table_refs(local_vars, values)
            return {"Fn::Sub": [text, local_vars] if local_vars else text}
    return {k: inline_table_refs(v, values) for k, v in obj.items()}


def as_int_fields(d: dict[str, Any]) -> dict[str, Any]:
    return {k: int(v) for k, v in d.items()}


def create_table_request(lid: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
    """CreateTable parameters for a resolved AWS::DynamoDB::Table's properties."""
    for key in sorted(set(props) - TABLE_CREATE_PROPS - TABLE_LATER_PROPS):
        log(f"warning: {lid}: {key} is not applied to a table created outside the stack")
    req: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if "ProvisionedThroughput" in props:
        req["ProvisionedThroughput"] = as_int_fields(props["ProvisionedThroughput"])
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            indexes = []
            for index in props[key]:
                one = {k: index[k] for k in INDEX_KEYS if k in index}
                for tp in ("ProvisionedThroughput", "OnDemandThroughput"):
                    if tp in one:
                        one[tp] = as_int_fields(one[tp])
                indexes.append(one)
            req[key] = indexes
    stream = props.get("StreamSpecification")
    if stream:
        req["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = props.get("SSESpecification")
    if sse:
        req["SSESpecification"] = {"Enabled": is_true(sse.get("SSEEnabled"))}
        for k in ("SSEType", "KMSMasterKeyId"):
            if k in sse:
                req["SSESpecification"][k] = sse[k]
    if "TableClass" in props:
        req["TableClass"] = props["TableClass"]
    if "DeletionProtectionEnabled" in props:
        req["DeletionProtectionEnabled"] = is_true(props["DeletionProtectionEnabled"])
    if props.get("Tags"):
        req["Tags"] = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in props["Tags"]]
    if "OnDemandThroughput" in props:
        req["OnDemandThroughput"] = as_int_fields(props["OnDemandThroughput"])
    return req


def create_tables_direct(
    aws: Aws, resolver: Resolver, tables: dict[str, Any], stack_name: str
) -> dict[str, dict[str, Any]]:
    """Create (or check) each table on the DynamoDB endpoint; returns what references to
    them resolve to: {lid: {"Ref": name, "Arn": ..., "StreamArn": ...}}."""
    from botocore.exceptions import ClientError

    ddb = aws("dynamodb")
    endpoint = aws.endpoint_for("dynamodb")
    out: dict[str, dict[str, Any]] = {}
    for lid, res in sorted(tables.items()):
        try:
            props = resolver.resolve(res.get("Properties", {}))
        except KeyError as e:
            die(f"{lid}: a table created on {endpoint} may reference only parameters and pseudo parameters ({e})")
        name = str(props.get("TableName") or f"{stack_name}-{lid}")
        req = create_table_request(lid, name, props)
        try:
            table = ddb.describe_table(TableName=name)["Table"]
        except ClientError as e:
            if client_error_code(e) != "ResourceNotFoundException":
                raise
            table = None
        if table is None:
            ddb.create_table(**req)
            ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            table = ddb.describe_table(TableName=name)["Table"]
            log(f"{lid}: created table {name} on {endpoint}")
        else:
            key = lambda ks: sorted((k["AttributeName"], k["KeyType"]) for k in ks)  # noqa: E731
            if key(table["KeySchema"]) != key(req["KeySchema"]):
                die(f"{lid}: table {name} exists on {endpoint} with another key schema; delete it and run again")
            want = req.get("StreamSpecification")
            have = table.get("StreamSpecification") or {}
            if want and not (have.get("StreamEnabled") and have.get("StreamViewType") == want["StreamViewType"]):
                if have.get("StreamEnabled"):
                    die(f"{lid}: table {name} on {endpoint} has a {have.get('StreamViewType')} stream, "
                        f"the template wants {want['StreamViewType']}; delete the table and run again")
                ddb.update_table(TableName=name, StreamSpecification=want)
                table = ddb.describe_table(TableName=name)["Table"]
                log(f"{lid}: enabled its {want['StreamViewType']} stream")
            log(f"{lid}: table {name} already exists on {endpoint}")
        reconcile_table(aws, lid, name, props)
        out[lid] = {"Ref": name, "Arn": table["TableArn"]}
        if table.get("LatestStreamArn"):
            out[lid]["StreamArn"] = table["LatestStreamArn"]
    return out


def caller_account(aws: Aws) -> str:
    try:
        return str(aws("sts").get_caller_identity()["Account"])
    except Exception:  # noqa: BLE001 - an emulator without STS
        return "123456789012"


# --------------------------------------------------------------------------- manifest


def merge_globals(global_props: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """SAM Globals semantics: maps merge (resource wins), lists append, scalars override."""
    out = copy.deepcopy(global_props)
    for k, v in props.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and not any(key.startswith("Fn::") or key == "Ref" for key in v):
            out[k] = merge_globals(out[k], v)
        elif isinstance(v, list) and isinstance(out.get(k), list):
            out[k] = out[k] + v
        else:
            out[k] = copy.deepcopy(v)
    return out


def lambda_authorizers(resources: dict[str, Any], sam: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    """Per HTTP API (its logical id; None for SAM's implicit one): the function of each Lambda
    authorizer by name, and the default one. The gateway of finflow-local invokes them as
    API Gateway does (payload 2.0, simple responses)."""
    apis: dict[str | None, dict[str, Any]] = {}
    implicit_auth = (sam.get("Globals", {}).get("HttpApi", {}) or {}).get("Auth") or {}
    globals_api = sam.get("Globals", {}).get("HttpApi", {}) or {}
    declared = [(None, implicit_auth)] + [
        (lid, merge_globals(globals_api, res.get("Properties", {}) or {}).get("Auth") or {})
        for lid, res in resources.items()
        if res.get("Type") == "AWS::Serverless::HttpApi"
    ]
    for api, auth in declared:
        functions = {}
        for name, authorizer in (auth.get("Authorizers") or {}).items():
            target = function_target(authorizer.get("FunctionArn"))
            if target is None:
                continue  # a JWT authorizer: API Gateway's own, not a function
            if str(authorizer.get("AuthorizerPayloadFormatVersion")) != "2.0" or not is_true(authorizer.get("EnableSimpleResponses")):
                die(f"{api}: authorizer {name} must use payload 2.0 with simple responses (the only kind run locally)")
            functions[name] = target
        apis[api] = {"functions": functions, "default": auth.get("DefaultAuthorizer")}
    return apis


def function_target(value: Any) -> str | None:
    """The function an ARN expression names: `!GetAtt F.Arn`, or `!Ref F.Alias` (SAM's
    reference to the alias AutoPublishAlias makes, which the local platform runs as F)."""
    target = getatt_target(value)
    if target is not None:
        return target[0]
    if isinstance(value, dict) and isinstance(value.get("Ref"), str) and value["Ref"].endswith(".Alias"):
        return value["Ref"].removesuffix(".Alias")
    return None


def route_authorizer(apis: dict[str | None, dict[str, Any]], route: dict[str, Any], where: str) -> str | None:
    """The logical id of the function authorizing an HttpApi event's route, if any."""
    api_ref = route.get("ApiId")
    api = api_ref.get("Ref") if isinstance(api_ref, dict) else None
    if api not in apis:
        die(f"{where}: ApiId {api_ref} is not an HTTP API of this template")
    name = ((route.get("Auth") or {}).get("Authorizer")) or apis[api]["default"]
    if name in (None, "NONE"):
        return None
    if name not in apis[api]["functions"]:
        die(f"{where}: authorizer {name} is not a Lambda authorizer of its API")
    return apis[api]["functions"][name]


def lambda_logging_environment(logging: dict[str, Any]) -> dict[str, str]:
    """What Lambda adds to a function's environment for its LoggingConfig (advanced logging
    controls): the format always, the application log level only with the JSON format."""
    log_format = str(logging.get("LogFormat", "Text"))
    env = {"AWS_LAMBDA_LOG_FORMAT": log_format}
    if log_format == "JSON" and logging.get("ApplicationLogLevel"):
        env["AWS_LAMBDA_LOG_LEVEL"] = str(logging["ApplicationLogLevel"])
    return env


def getatt_target(value: Any) -> tuple[str, str] | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        v = value["Fn::GetAtt"]
        lid, attr = v.split(".", 1) if isinstance(v, str) else v
        return lid, attr
    return None


def filter_patterns(props: dict[str, Any]) -> list[Any]:
    patterns = []
    for f in props.get("FilterCriteria", {}).get("Filters", []):
        p = f.get("Pattern")
        patterns.append(json.loads(p) if isinstance(p, str) else p)
    return patterns


def function_permissions(cfn: dict[str, Any], resolver: Resolver, lid: str) -> list[dict[str, Any]]:
    """What a function's execution role allows its code: the Allow statements of its inline
    policies (SAM's policy templates expanded), resolved to ARNs. The managed policies SAM
    attaches (logs, X-Ray, polling the function's queues and streams) serve the Lambda
    service, not the code, and are left out. tests/least_privilege.rs holds these against
    what the code was seen to use."""
    role = cfn["Resources"].get(f"{lid}Role")
    if role is None:
        return []
    permissions = []
    for policy in role.get("Properties", {}).get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement.get("Effect") != "Allow":
                continue
            as_list = lambda v: v if isinstance(v, list) else [v]  # noqa: E731
            permissions.append({
                "actions": as_list(statement["Action"]),
                "resources": [str(r) for r in as_list(resolver.resolve(statement["Resource"]))],
            })
    return permissions


def build_manifest(
    resolver: Resolver, sam: dict[str, Any], endpoint: str, region: str, stack_name: str
) -> dict[str, Any]:
    resources = sam["Resources"]
    by_type: dict[str, list[str]] = {}
    for lid, res in resources.items():
        by_type.setdefault(res["Type"], []).append(lid)

    tables = {lid: resolver.ref(lid) for lid in by_type.get("AWS::DynamoDB::Table", [])}

    queue_by_arn: dict[str, str] = {}
    queues: dict[str, Any] = {}
    for lid in by_type.get("AWS::SQS::Queue", []):
        queue_by_arn[resolver.get_att(lid, "Arn")] = lid
    for lid in by_type.get("AWS::SQS::Queue", []):
        attrs = resolver.queue_attrs(lid)
        rp = json.loads(attrs["RedrivePolicy"]) if attrs.get("RedrivePolicy") else None
        queues[lid] = {
            "url": resolver.queue_url(lid),
            "arn": attrs["QueueArn"],
            "dlq": queue_by_arn.get(rp["deadLetterTargetArn"]) if rp else None,
            "max_receive_count": int(rp["maxReceiveCount"]) if rp else None,
            "visibility_timeout": int(attrs.get("VisibilityTimeout", 30)),
        }

    buses = by_type.get("AWS::Events::EventBus", [])
    if len(buses) > 1:
        log(f"warning: several event buses ({', '.join(buses)}); the manifest names the first")
    event_bus = {"name": resolver.get_att(buses[0], "Name"), "arn": resolver.get_att(buses[0], "Arn")} if buses else None
    archives = by_type.get("AWS::Events::Archive", [])
    archive = (
        {"name": resolver.get_att(archives[0], "ArchiveName"), "arn": resolver.get_att(archives[0], "Arn")}
        if archives
        else None
    )

    # Rules by logical id, for tools that name one (finflow replay: StartReplay's FilterArns).
    rules = {
        lid: {"name": resolver.rule(lid)["Name"], "arn": resolver.get_att(lid, "Arn")}
        for lid in by_type.get("AWS::Events::Rule", [])
    }

    globals_fn = sam.get("Globals", {}).get("Function", {})
    apis = lambda_authorizers(resources, sam)
    authorizer_functions = {lid for api in apis.values() for lid in api["functions"].values()}
    functions: dict[str, Any] = {}
    for lid in by_type.get("AWS::Serverless::Function", []):
        res = resources[lid]
        props = merge_globals(globals_fn, res.get("Properties", {}))
        binary = (res.get("Metadata", {}).get("BuildProperties", {}) or {}).get("Binary")
        service = (props.get("Tags") or {}).get("service")
        if not binary:
            die(f"{lid}: Metadata.BuildProperties.Binary is missing")
        if not service:
            die(f"{lid}: Tags.service is missing")
        env = resolver.resolve(props.get("Environment", {}).get("Variables", {}))
        env.update(lambda_logging_environment(resolver.resolve(props.get("LoggingConfig", {}))))
        http_routes, sqs_sources, stream_sources, schedules = [], [], [], []
        for ev_name, ev in (props.get("Events") or {}).items():
            et, ep = ev.get("Type"), ev.get("Properties", {}) or {}
            if et in ("HttpApi", "Api"):
                http_routes.append({
                    "method": str(ep.get("Method", "ANY")).upper(),
                    "path": ep.get("Path", "$default"),
                    "authorizer": route_authorizer(apis, ep, f"{lid}.{ev_name}") if et == "HttpApi" else None,
                })
            elif et == "SQS":
                target = getatt_target(ep["Queue"])
                q = target[0] if target else queue_by_arn.get(resolver.resolve(ep["Queue"]))
                if q not in queues:
                    die(f"{lid}.{ev_name}: SQS source {ep['Queue']} is not a queue of this template")
                src = {
                    "queue": q,
                    "queue_url": queues[q]["url"],
                    "queue_arn": queues[q]["arn"],
                    "batch_size": int(ep.get("BatchSize", 10)),
                    "report_batch_item_failures": "ReportBatchItemFailures" in ep.get("FunctionResponseTypes", []),
                }
                if ep.get("FilterCriteria"):
                    src["filter_patterns"] = filter_patterns(ep)
                sqs_sources.append(src)
            elif et == "DynamoDB":
                target = getatt_target(ep["Stream"])
                if not target or target[0] not in tables:
                    die(f"{lid}.{ev_name}: stream {ep['Stream']} must be !GetAtt <Table>.StreamArn of this template")
                t = target[0]
                src = {
                    "table": t,
                    "table_name": tables[t],
                    "stream_arn": resolver.get_att(t, "StreamArn"),
                    "batch_size": int(ep.get("BatchSize", 100)),
                    "starting_position": ep.get("StartingPosition", "LATEST"),
                    "report_batch_item_failures": "ReportBatchItemFailures" in ep.get("FunctionResponseTypes", []),
                }
                if ep.get("FilterCriteria"):
                    src["filter_patterns"] = filter_patterns(ep)
                stream_sources.append(src)
            elif et == "Schedule":
                # finflow-local runs the function on it (rate expressions only).
                schedules.append({
                    "name": ev_name,
                    "expression": str(resolver.resolve(ep["Schedule"])),
                    "enabled": is_true(resolver.resolve(ep.get("Enabled", True))),
                })
            else:
                log(f"warning: {lid}.{ev_name}: event type {et} is not run locally")
        functions[lid] = {
            "service": service,
            "binary": binary,
            "environment": {k: str(v) for k, v in env.items()},
            "http_routes": http_routes,
            "sqs_sources": sqs_sources,
            "stream_sources": stream_sources,
            "schedules": schedules,
            "authorizer": lid in authorizer_functions,
        }

    manifest: dict[str, Any] = {
        "endpoint": endpoint,
        "region": region,
        "stack_name": stack_name,
        "tables": tables,
        "queues": queues,
        "event_bus": event_bus,
        "archive": archive,
        "rules": rules,
        "functions": functions,
    }
    topics = by_type.get("AWS::SNS::Topic", [])
    if topics:
        manifest["topics"] = {lid: {"arn": resolver.ref(lid), "name": resolver.get_att(lid, "TopicName")} for lid in topics}
    return manifest


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    ap.add_argument("--stack-name", default=os.environ.get("FINFLOW_STACK_NAME", DEFAULT_STACK))
    ap.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="extra/overriding template parameter (repeatable)")
    ap.add_argument("--print-template", action="store_true",
                    help="print the stripped CloudFormation template and exit (no emulator calls)")
    args = ap.parse_args()

    endpoint = os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = region
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")

    overrides = dict(LOCAL_PARAMETERS)
    for kv in args.param:
        if "=" not in kv:
            die(f"--param expects KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        overrides[k] = v

    sam = load_template(args.template)
    params = parameter_values(sam, overrides)

    aws = Aws(endpoint, region)
    cfn = sam_transform(sam, params, aws("iam"))
    # Conditions name parameters and pseudo parameters only: no resource is looked up.
    conditions = Resolver(aws, cfn, params, region, caller_account(aws), args.stack_name, {})
    stripped, notes = strip_for_emulator(cfn, conditions.condition)
    for n in notes:
        log(n)
    emulator = emulator_entry(emulator_name(endpoint))
    api_types = api_only_types(emulator)
    api_only = {lid: r for lid, r in stripped["Resources"].items() if r["Type"] in api_types}
    for lid in api_only:
        del stripped["Resources"][lid]
    for lid, res in stripped["Resources"].items():
        if referenced_names(res) & set(api_only):
            die(f"{lid} references {', '.join(sorted(referenced_names(res) & set(api_only)))}, "
                f"which {emulator['name']}'s CloudFormation cannot create")
    log(f"emulator: {emulator['name']}" + (f" ({emulator['release']})" if emulator["release"] else ""))
    # Tables go straight to a separate DynamoDB endpoint (DynamoDB Local) when one is named.
    ddb_endpoint = aws.endpoint_for("dynamodb")
    direct_tables: dict[str, Any] = {}
    if ddb_endpoint.rstrip("/") != endpoint.rstrip("/"):
        stripped, direct_tables = split_tables(stripped)
    if args.print_template:
        print(json.dumps(stripped, indent=2))
        return

    table_values: dict[str, dict[str, Any]] = {}
    if direct_tables:
        log(f"{len(direct_tables)} tables go to DynamoDB at {ddb_endpoint} "
            f"(streams at {aws.endpoint_for('dynamodbstreams')}), the rest to {endpoint}")
        pre = Resolver(aws, sam, params, region, caller_account(aws), args.stack_name, {})
        try:
            table_values = create_tables_direct(aws, pre, direct_tables, args.stack_name)
        except Exception as e:  # noqa: BLE001 - connection errors etc.
            if isinstance(e, SystemExit):
                raise
            die(f"creating the tables on {ddb_endpoint} failed: {e}")
        stripped = inline_table_refs(stripped, table_values)

    body = json.dumps(stripped, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256((body + json.dumps(overrides, sort_keys=True)).encode()).hexdigest()
    kept = sorted(f"{lid}:{r['Type']}" for lid, r in stripped["Resources"].items())
    log(f"endpoint {endpoint}, region {region}; {len(kept)} resources after stripping Lambda/IAM/API Gateway"
        + (" and the tables" if direct_tables else ""))

    cf = aws("cloudformation")
    try:
        deploy_stack(cf, args.stack_name, body, {k: v for k, v in overrides.items() if k in stripped.get("Parameters", {})}, digest)
    except Exception as e:  # noqa: BLE001 - connection errors etc.
        if isinstance(e, SystemExit):
            raise
        die(f"talking to the emulator at {endpoint} failed: {e}")

    stack = describe_stack(cf, args.stack_name)
    assert stack is not None
    account_id = stack["StackId"].split(":")[4] or "123456789012"
    # moto quirks: resources its CloudFormation skipped show up without a
    # LogicalResourceId, and EventBus/Archive come without a PhysicalResourceId.
    listed = [r for r in cf.describe_stack_resources(StackName=args.stack_name)["StackResources"]
              if r.get("LogicalResourceId")]
    in_stack = {r["LogicalResourceId"] for r in listed}
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed if r.get("PhysicalResourceId")}
    physical.update({lid: v["Ref"] for lid, v in table_values.items()})
    resolver = Resolver(aws, sam, params, region, account_id, args.stack_name, physical)
    for lid in in_stack - set(physical):
        name_prop = NAME_PROPERTIES.get(stripped["Resources"][lid]["Type"])
        props = stripped["Resources"][lid].get("Properties", {})
        if name_prop and name_prop in props:
            physical[lid] = str(resolver.resolve(props[name_prop]))
        else:
            log(f"warning: no physical id for {lid}")
    for lid, res in sorted(api_only.items()):
        physical[lid] = API_ONLY[res["Type"]](aws, resolver, lid, resolver.resolve(res.get("Properties", {})))
    reconcile(aws, resolver, stripped, in_stack)

    manifest = build_manifest(resolver, sam, endpoint, region, args.stack_name)
    for lid, function in manifest["functions"].items():
        function["permissions"] = function_permissions(cfn, resolver, lid)
    manifest["emulator"] = emulator
    if direct_tables:
        manifest["dynamodb_endpoint"] = ddb_endpoint
        manifest["dynamodbstreams_endpoint"] = aws.endpoint_for("dynamodbstreams")

    env: dict[str, str] = {}
    for fn_id, fn in manifest["functions"].items():
        for k, v in fn["environment"].items():
            if k in env and env[k] != v:
                log(f"warning: {k} differs between functions; infra/.state/env keeps the first value")
                continue
            env.setdefault(k, v)

    write_atomic(args.state_dir / "stack.json", json.dumps(manifest, indent=2) + "\n")
    write_atomic(args.state_dir / "env", "".join(f"{k}={v}\n" for k, v in sorted(env.items())))
    log(f"wrote {args.state_dir / 'stack.json'} and {args.state_dir / 'env'}")


if __name__ == "__main__":
    main()
