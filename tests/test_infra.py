"""The deployable template matches the models, grants no data action on '*', and secrets come from SSM."""

import json
import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib import db
from chalicelib.db.models import EntryItem
from infra import build_template

ALL_MODELS = db.every_model()  # every item class, db/scale_models.py's too

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = ROOT / "build" / "sam.json"


def packaged() -> dict:
    if not PACKAGED.exists():
        if os.environ.get("CI"):
            pytest.fail("build/sam.json is missing: make test runs make package first")
        pytest.skip("run `make package` first")
    return json.loads(PACKAGED.read_text())


def test_committed_merge_template_is_current():
    assert (ROOT / "infra" / "resources.json").read_text() == build_template.render()


def test_the_table_declares_exactly_the_keys_and_indexes_the_models_use():
    table = packaged()["Resources"]["LoyaltyTable"]["Properties"]
    schema = EntryItem._get_schema()
    assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} == {
        (a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]
    }
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {("pk", "HASH"), ("sk", "RANGE")}
    declared = {
        i["IndexName"]: {(k["AttributeName"], k["KeyType"]) for k in i["KeySchema"]}
        for i in table["GlobalSecondaryIndexes"]
    }
    used = {
        i["index_name"]: {(k["AttributeName"], k["KeyType"]) for k in i["key_schema"]}
        for i in schema["global_secondary_indexes"]
    }
    assert (
        declared
        == used
        == {"gsi1": {("gsi1pk", "HASH"), ("gsi1sk", "RANGE")}, "gsi2": {("gsi2pk", "HASH"), ("gsi2sk", "RANGE")}}
    )
    assert all(i["Projection"]["ProjectionType"] == "ALL" for i in table["GlobalSecondaryIndexes"])
    # every model lives in this one table with the same keys
    assert {m.Meta.table_name for m in ALL_MODELS} == {EntryItem.Meta.table_name}
    assert all(m._hash_keyname == "pk" and m._range_keyname == "sk" for m in ALL_MODELS)
    assert table["BillingMode"] == "PAY_PER_REQUEST" and table["DeletionProtectionEnabled"] is True
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True


def test_the_table_expires_implicit_replay_records_codes_and_sessions_and_nothing_else():
    table = json.loads(build_template.render())["Resources"]["LoyaltyTable"]["Properties"]
    from chalicelib.db.models import ReplayItem

    assert table["TimeToLiveSpecification"] == {"AttributeName": ReplayItem.ttl.attr_name, "Enabled": True}
    carrying = [m.__name__ for m in ALL_MODELS if "ttl" in m.get_attributes()]
    # execute sets it on REQ# replay records only (tests/test_db.py); one-time codes, customer, portal and staff
    # sessions, rate-limit buckets, Telegram link tokens, idle code-free allowances, customer messages' marks and
    # weekly counts (once what they guard is over) and webhook deliveries (a log kept 30 days) expire too
    assert sorted(carrying) == [
        "CodeFreeItem",
        "CodeItem",
        "CrmSentItem",  # a change's sent mark for a partner's CRM (30 days: longer than any event waits)
        "CustomerSessionItem",
        "DeliveryItem",
        "MessageMarkItem",
        "NoteDueItem",  # a message to a customer waiting for the end of quiet hours (3 days at most)
        "OfferRunItem",  # a campaign offered to its audience: the run's cursor and counts
        "PortalSessionItem",
        "RateLimitItem",
        "ReplayItem",
        "StaffSessionItem",
        "TelegramLinkItem",
    ]


STREAM_ACTIONS = {"dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream", "dynamodb:ListStreams"}


def test_no_data_action_is_granted_on_everything():
    template = packaged()
    roles = {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert set(roles) == {*build_template.FUNCTIONS.values(), "ApiGatewayCloudWatchRole"}
    for name, role in roles.items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                assert "*" not in resources, (name, statement)
                actions = statement["Action"]
                if statement["Sid"] == "TableStream":  # the dispatcher reads the table's stream, nothing else
                    assert resources == [{"Fn::GetAtt": ["LoyaltyTable", "StreamArn"]}]
                    assert all(a in STREAM_ACTIONS for a in actions)
                elif any(a.startswith("dynamodb:") for a in actions):
                    assert {json.dumps(r, sort_keys=True) for r in resources} == {
                        json.dumps({"Fn::GetAtt": ["LoyaltyTable", "Arn"]}, sort_keys=True),
                        json.dumps({"Fn::Sub": "${LoyaltyTable.Arn}/index/*"}, sort_keys=True),
                    }


def _env(resources: dict, function: str) -> dict:
    return resources[function]["Properties"]["Environment"]["Variables"]


def test_functions_get_the_table_and_secrets_from_the_stack():
    resources = packaged()["Resources"]
    for function in ("APIHandler", "ExpirePoints", "CloseSettlements", "SendCustomerMessages"):
        env = resources[function]["Properties"]["Environment"]["Variables"]
        assert env["LOYALTY_TABLE"] == {"Ref": "LoyaltyTable"}
        assert env["LOYALTY_KEY_PEPPER_PARAM"] == {"Ref": "KeyPepperParameter"}
        assert "LOYALTY_KEY_PEPPER" not in env and "LOYALTY_PORTAL_SECRET" not in env  # never literals
        assert resources[f"{function}LogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    schedules = {
        resources[f]["Properties"]["Events"][f"{f}Event"]["Properties"]["Schedule"]
        for f in ("ExpirePoints", "CloseSettlements", "SendCustomerMessages")
    }
    assert schedules == {"cron(15 21 * * ? *)", "cron(0 22 * * ? *)", "cron(5 * * * ? *)"}
    # the functions that send to customers read the channels' secrets; the others never see them
    senders = {f for f in build_template.FUNCTIONS if "LOYALTY_SMS_API_KEY_PARAM" in _env(resources, f)}
    assert senders == {"APIHandler", "SendCustomerMessages", "DispatchEvents", "RetryDeliveries"}  # codes retried
    assert resources["RestAPI"]["Properties"]["MethodSettings"][0]["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    alarms = {r["Properties"]["MetricName"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms == {
        "Errors",
        "Throttles",
        "5XXError",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
        "SystemErrors",
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "IteratorAge",
    }


def test_secrets_are_read_from_ssm_and_dev_secrets_are_refused_in_lambda(monkeypatch):
    from chalicelib.config import Settings

    with mock_aws():
        import boto3

        ssm = boto3.client("ssm", region_name="eu-central-1")
        ssm.put_parameter(Name="/cl/pepper", Value="p3pp3r", Type="SecureString")
        ssm.put_parameter(Name="/cl/portal", Value="s3cr3t", Type="SecureString")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "api")
        monkeypatch.setenv("LOYALTY_KEY_PEPPER_PARAM", "/cl/pepper")
        monkeypatch.setenv("LOYALTY_PORTAL_SECRET_PARAM", "/cl/portal")
        settings = Settings.from_env()
        assert (settings.key_pepper, settings.portal_secret) == ("p3pp3r", "s3cr3t")
        monkeypatch.delenv("LOYALTY_PORTAL_SECRET_PARAM")
        with pytest.raises(RuntimeError):
            Settings.from_env()


def test_the_zip_leaves_out_what_lambda_provides():
    zip_path = PACKAGED.with_name("deployment.zip")
    packaged()
    import zipfile

    names = zipfile.ZipFile(zip_path).namelist()
    assert "app.py" in names and any(n.startswith("chalicelib/") for n in names)
    assert any(n.startswith("pydantic_core/") and n.endswith(".so") for n in names)
    assert not any(n.startswith(("botocore/", "boto3/")) for n in names)
    assert not any(n.startswith(("tests/", "local/", "bench/", "infra/")) for n in names)


# --- operations: alarms that can fire, limits, logs, dead letters, the runtime, the deploy command ---------------

# What each alarm dimension must name, in the template: a resource of one of these types.
DIMENSION_TYPES = {
    "FunctionName": {"AWS::Serverless::Function", "AWS::Lambda::Function"},
    "TableName": {"AWS::DynamoDB::Table"},
    "QueueName": {"AWS::SQS::Queue"},
    "Stage": {"AWS::Serverless::Api"},
}


def _resolve(template: dict, name: str, value: object) -> str:
    """The logical id of the resource an alarm dimension names, or an AssertionError saying why it names none."""
    resources = template["Resources"]
    if name == "ApiName":
        # API Gateway publishes a REST API's metrics under the API's name: the title of its definition (Chalice's
        # app name) unless the template gives it another Name
        apis = {
            k: r["Properties"].get("Name", r["Properties"]["DefinitionBody"]["info"]["title"])
            for k, r in resources.items()
            if r["Type"] == "AWS::Serverless::Api"
        }
        matching = [k for k, api_name in apis.items() if api_name == value]
        assert matching, f"ApiName {value!r} is the name of no API of the template ({apis})"
        return matching[0]
    if name == "Operation":
        assert value in build_template.DYNAMODB_OPERATIONS, value
        return str(value)
    if name == "GlobalSecondaryIndexName":  # a literal: an index of the table
        assert value in _indexes(template), (value, _indexes(template))
        return str(value)
    assert isinstance(value, dict) and len(value) == 1, f"{name} = {value!r}: a literal, or a parameter"
    if "Ref" in value:
        target = value["Ref"]
        if name == "Stage":  # SAM's reference to the stage it generates for an Api: <Api>.Stage
            api, _, suffix = target.partition(".")
            assert suffix == "Stage" and resources[api]["Properties"]["StageName"], target
            target = api
    else:
        target, attribute = value["Fn::GetAtt"]
        assert name != "QueueName" or attribute == "QueueName", value
    assert target in resources, f"{name} names {target!r}, which is no resource of the template"
    assert resources[target]["Type"] in DIMENSION_TYPES[name], (name, target, resources[target]["Type"])
    return str(target)


def _indexes(template: dict) -> set[str]:
    tables = [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    return {i["IndexName"] for t in tables for i in t["Properties"]["GlobalSecondaryIndexes"]}


def test_every_alarm_names_resources_that_exist_so_it_can_fire():
    """An alarm whose dimensions name nothing (the 5xx alarm once named the stack, not the API) never fires."""
    template = packaged()
    alarms = {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    watched = set()
    for logical_id, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id
        for dimension in alarm["Dimensions"]:
            watched.add((alarm["MetricName"], _resolve(template, dimension["Name"], dimension["Value"])))
        if alarm["Namespace"] == "AWS/ApiGateway":  # without its stage, a REST API's metric sums every stage's
            assert {d["Name"] for d in alarm["Dimensions"]} == {"ApiName", "Stage"}
    for function in ("APIHandler", "ExpirePoints", "CloseSettlements", "RunJobTask"):
        assert {("Errors", function), ("Throttles", function)} <= watched
    assert {
        ("5XXError", "RestAPI"),
        ("IteratorAge", "DispatchEvents"),
        ("ApproximateNumberOfMessagesVisible", "JobsDeadLetterQueue"),
        ("ApproximateAgeOfOldestMessage", "JobsQueue"),
        ("ReadThrottleEvents", "LoyaltyTable"),
        ("WriteThrottleEvents", "LoyaltyTable"),
    } <= watched
    # an index's throttling is published under its name only: each index is watched for both
    indexes = _indexes(template)
    assert (
        len(indexes) == 2
        and {(m, i) for m in ("ReadThrottleEvents", "WriteThrottleEvents") for i in indexes} <= watched
    )
    assert {o for m, o in watched if m == "SystemErrors" and o != "LoyaltyTable"} == set(
        build_template.DYNAMODB_OPERATIONS
    )


def test_the_api_function_stops_before_api_gateway_gives_up_and_has_reserved_concurrency():
    resources = packaged()["Resources"]
    api = resources["APIHandler"]["Properties"]
    assert api["Timeout"] < build_template.API_GATEWAY_TIMEOUT_SECONDS == 29
    assert api["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasApiReservedConcurrency", {"Ref": "ApiReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }


def test_the_access_log_records_no_token_path_value_or_header():
    """The customer page's links carry ?token=: the access log keeps the route's template, never the query string,
    the path's values or a header."""
    resources = packaged()["Resources"]
    setting = resources["RestAPI"]["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert resources["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    fields = json.loads(setting["Format"])
    assert fields["resource"] == "$context.resourcePath"
    for leaky in ("$context.path", "querystring", "$input", "$method.request", "header", "$context.authorizer"):
        assert leaky.lower() not in setting["Format"].lower(), leaky
    assert resources["RestAPI"]["DependsOn"] == ["ApiGatewayAccount"]  # the account's logging role comes first


def test_tracing_is_a_stack_parameter_for_the_api_and_every_function():
    template = packaged()
    assert template["Parameters"]["Tracing"]["Default"] == "PassThrough"
    resources = template["Resources"]
    for function in ("APIHandler", "ExpirePoints", "CloseSettlements"):
        assert resources[function]["Properties"]["Tracing"] == {"Ref": "Tracing"}
    assert resources["RestAPI"]["Properties"]["TracingEnabled"] == {"Fn::If": ["TracingActive", True, False]}


def test_every_asynchronous_invocation_has_a_dead_letter_queue():
    """The scheduled jobs are invoked asynchronously: a run that fails after Lambda's retries, or that EventBridge
    could not deliver, goes to a queue whose depth raises an alarm."""
    resources = packaged()["Resources"]
    queue = {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}
    scheduled = {k for k, r in resources.items() if any(e["Type"] == "Schedule" for e in _events(r))}
    assert scheduled == {"ExpirePoints", "CloseSettlements", "SendCustomerMessages", "RetryDeliveries"}
    policy = resources["JobsDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    rule_arns = {a["Fn::Sub"] for a in policy["Condition"]["ArnEquals"]["aws:SourceArn"]}
    for function in scheduled:
        props = resources[function]["Properties"]
        assert props["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": queue}
        for event in _events(resources[function]):
            assert event["Properties"]["DeadLetterConfig"] == {"Arn": queue}
            name = event["Properties"]["Name"]["Fn::Sub"]
            assert any(arn.endswith(f":rule/{name}") for arn in rule_arns), name  # the queue takes its rule's
        role = resources[build_template.FUNCTIONS[function]]["Properties"]["Policies"][0]["PolicyDocument"]
        assert {"Sid": "DeadLetterQueue", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": queue} in role[
            "Statement"
        ]
    assert not any(_events(resources["APIHandler"]))  # the API is invoked synchronously: the client sees failures


def _events(resource: dict) -> list[dict]:
    return list(resource.get("Properties", {}).get("Events", {}).values())


PY312_MAGIC = (3531).to_bytes(2, "little") + b"\r\n"  # importlib.util.MAGIC_NUMBER of every CPython 3.12


def test_the_zip_runs_on_amazon_linux_2023_with_bytecode_for_its_python():
    """python3.12 runs on Amazon Linux 2023; Lambda's /var/task is read-only, so the zip brings the bytecode its
    Python would otherwise compile on every cold start: one unchecked-hash .pyc per module, for 3.12."""
    import importlib.util
    import zipfile

    template = packaged()
    runtimes = {r["Properties"]["Runtime"] for r in template["Resources"].values() if "Runtime" in r["Properties"]}
    assert runtimes == {"python3.12"}
    archive = zipfile.ZipFile(PACKAGED.with_name("deployment.zip"))
    names = set(archive.namelist())
    sources = {n for n in names if n.endswith(".py")}
    assert len(sources) > 250
    for source in sources:
        cached = importlib.util.cache_from_source(source).replace(".cpython-311.", ".cpython-312.")
        assert cached in names, source
    header = archive.read("chalicelib/__pycache__/config.cpython-312.pyc")[:8]
    assert header[:4] == PY312_MAGIC
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, not checked against the source


def test_make_package_prints_a_deploy_through_s3_with_the_stage_parameters():
    """`make deploy` cannot run here; `make package` writes the commands it would run, checked here."""
    plan_file = PACKAGED.with_name("deploy-plan.txt")
    template = packaged()
    lines = plan_file.read_text().splitlines()
    assert PACKAGED.stat().st_size > 51_200  # so CloudFormation only takes it from S3
    package = next(line for line in lines if line.startswith("aws cloudformation package"))
    deploy = next(line for line in lines if line.startswith("aws cloudformation deploy"))
    bucket = '"coalition-loyalty-artifacts-${ACCOUNT}-eu-central-1"'
    assert f"--s3-bucket {bucket}" in package and f"--s3-bucket {bucket}" in deploy
    assert "--template-file build/sam.json" in package and "--output-template-file build/packaged.json" in package
    assert "--template-file build/packaged.json" in deploy and "--stack-name coalition-loyalty-prod" in deploy
    owned = f'aws s3api head-bucket --bucket {bucket} --expected-bucket-owner "${{ACCOUNT}}"'
    assert any(line.startswith(f"{owned} 2>/dev/null || ") for line in lines)  # made unless there
    upload = lines.index(package)
    assert owned in lines[:upload]  # and, made or found, it is this account's before anything goes into it
    overrides = deploy.split("--parameter-overrides ", 1)[1].split()
    assert {o.split("=")[0] for o in overrides} <= set(template["Parameters"])  # every one a parameter it declares
    assert "KeyPepperParameter=/coalition-loyalty/prod/key-pepper" in overrides


def test_a_deploy_uploads_nothing_to_a_bucket_another_account_owns(monkeypatch, capsys):
    """The artifacts bucket's name is predictable and S3 names are global: another account could make it first and
    grant us writing, then change the zip between upload and deploy. The deploy checks the owner first."""
    import subprocess

    from infra import deploy

    sent: list[list[str]] = []

    def aws(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        sent.append(command)
        if command[1:2] == ["sts"]:
            return subprocess.CompletedProcess(command, 0, "111122223333\n", "")
        theirs = command[1:3] == ["s3api", "head-bucket"] and "--expected-bucket-owner" in command
        return subprocess.CompletedProcess(command, 1 if theirs else 0, "", "")

    monkeypatch.setattr(subprocess, "run", aws)
    with pytest.raises(SystemExit, match="not this account's"):
        deploy.run(deploy.Plan("prod", "eu-central-1", "their-bucket"))
    assert not [c for c in sent if c[1:2] == ["cloudformation"]]


def test_deploy_plans_a_given_bucket_and_overrides_for_another_stage():
    from infra.deploy import Plan

    plan = Plan("dev", "us-east-1", "my-artifacts", ("AlarmEmail=ops@example.com", "TableName=loyalty-restored"))
    commands = [" ".join(c) for c in plan.deploy(plan.bucket_name("123"))]
    assert all("--s3-bucket my-artifacts" in c for c in commands[:2])
    assert "--stack-name coalition-loyalty-dev" in commands[1]
    params = plan.stage_parameters()
    assert "TableName=loyalty-restored" in params and "TableName=loyalty-dev" not in params
    assert "KeyPepperParameter=/coalition-loyalty/dev/key-pepper" in params and "AlarmEmail=ops@example.com" in params
    assert Plan("dev", "us-east-1").make_bucket("b")[0] == [
        "aws", "s3api", "create-bucket", "--bucket", "b", "--region", "us-east-1"
    ]  # fmt: skip  # us-east-1 takes no LocationConstraint


def test_secrets_come_in_one_call_with_one_client_when_the_instance_starts(monkeypatch):
    """All the instance's secrets in one GetParameters call; a notification secret is then served without another
    call, and one created after the instance started is still read when asked for."""
    import boto3

    from chalicelib import config
    from chalicelib.db import aws_session

    calls: list[str] = []
    clients: list[object] = []
    real_client = aws_session.client

    def counting_client(service: str) -> object:
        client = real_client(service)
        client.meta.events.register("before-call.ssm", lambda model, **_: calls.append(model.name))
        clients.append(client)
        return client

    with mock_aws():
        ssm = boto3.client("ssm", region_name="eu-central-1")
        for name, value in (("/cl/pepper", "p3pp3r"), ("/cl/portal", "s3cr3t"), ("/cl/smtp", "smtp-pw")):
            ssm.put_parameter(Name=name, Value=value, Type="SecureString")
        monkeypatch.setattr(aws_session, "client", counting_client)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "api")
        for variable, parameter in (
            ("LOYALTY_KEY_PEPPER_PARAM", "/cl/pepper"),
            ("LOYALTY_PORTAL_SECRET_PARAM", "/cl/portal"),
            ("LOYALTY_SMTP_PASSWORD_PARAM", "/cl/smtp"),
            ("LOYALTY_SMS_API_KEY_PARAM", "/cl/sms"),  # not created yet
        ):
            monkeypatch.setenv(variable, parameter)
        settings = config.Settings.from_env()
        assert (settings.key_pepper, settings.portal_secret) == ("p3pp3r", "s3cr3t")
        assert (calls, len(clients)) == (["GetParameters"], 1)
        assert config.read_secret("LOYALTY_SMTP_PASSWORD") == "smtp-pw"
        assert calls == ["GetParameters"]
        ssm.put_parameter(Name="/cl/sms", Value="sms-key", Type="SecureString")
        assert config.read_secret("LOYALTY_SMS_API_KEY") == "sms-key"
        assert (calls, len(clients)) == (["GetParameters", "GetParameter"], 1)
        monkeypatch.setenv("LOYALTY_KEY_PEPPER_PARAM", "/cl/missing")
        with pytest.raises(ClientError, match="ParameterNotFound"):
            config.Settings.from_env()


def test_the_shipped_zip_serves_a_balance_on_its_runtime_python():
    """The tests run on 3.11, the zip on 3.12: unpacked as Lambda does, with Lambda's environment (secrets from SSM
    in one call at init), it serves a balance on the runtime's own Python."""
    import subprocess
    import sys

    packaged()
    lambda_python = ROOT / ".venv-lambda" / "bin" / "python"
    if not lambda_python.exists():
        pytest.skip("run `make package` first")
    done = subprocess.run(
        [sys.executable, "-m", "infra.coldstart", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["python"].startswith("Python 3.12.")
    assert result["aws_calls"]["shipped"][0] == "AmazonSSM.GetParameters"  # once, at init
    assert "AmazonSSM.GetParameter" not in result["aws_calls"]["shipped"]


def test_the_jobs_worker_reads_its_queue_whose_failures_go_to_the_dead_letter_queue():
    """The expiry's segments and the reconciliation's pages are tasks of JobsQueue: the worker function reads it one
    message at a time, at most one instance per expiry segment; a task failing its tries lands in the dead-letter
    queue (whose depth raises an alarm); every function may send tasks, only the worker receives them."""
    from chalicelib.db import keys

    resources = packaged()["Resources"]
    queue = resources["JobsQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]},
        "maxReceiveCount": build_template.JOBS_QUEUE_TRIES,
    }
    worker = resources["RunJobTask"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"] and worker["Timeout"] <= 900
    (event,) = worker["Events"].values()
    assert event == {
        "Type": "SQS",
        "Properties": {
            "Queue": {"Fn::GetAtt": ["JobsQueue", "Arn"]},
            "BatchSize": 1,
            "ScalingConfig": {"MaximumConcurrency": keys.EXPIRY_SHARDS},
        },
    }
    for function, role_name in build_template.FUNCTIONS.items():
        env = resources[function]["Properties"]["Environment"]["Variables"]
        assert env["LOYALTY_JOBS_QUEUE_URL"] == {"Ref": "JobsQueue"}
        statements = resources[role_name]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        on_queue = {
            a for st in statements if st["Resource"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]} for a in st["Action"]
        }
        assert ("sqs:ReceiveMessage" in on_queue) == (function == "RunJobTask") and "sqs:SendMessage" in on_queue


def test_the_dispatcher_reads_the_outbox_from_the_stream_reports_failed_records_and_has_a_dead_letter_queue():
    """Outbox inserts only reach the dispatcher; a record it reports failed is retried from there and then lands in
    a queue whose depth raises an alarm; the dispatcher's role reads the stream (Chalice's policy generation sees
    only app.py, so this role is declared whole in infra/)."""
    resources = packaged()["Resources"]
    assert resources["LoyaltyTable"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    (event,) = _events(resources["DispatchEvents"])
    props = event["Properties"]
    assert event["Type"] == "DynamoDB" and props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": queue}}
    pattern = json.loads(props["FilterCriteria"]["Filters"][0]["Pattern"])
    assert pattern["dynamodb"]["Keys"]["pk"] == {"S": [{"prefix": "OUTBOX#"}]}
    role = resources["DispatchEventsRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    stream = next(st for st in role if st["Sid"] == "TableStream")
    assert stream["Resource"] == {"Fn::GetAtt": ["LoyaltyTable", "StreamArn"]}
    assert any(st["Resource"] == queue and st["Action"] == ["sqs:SendMessage"] for st in role)
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    dimensions = [a["Dimensions"] for a in alarms]
    assert [{"Name": "FunctionName", "Value": {"Ref": "DispatchEvents"}}] in dimensions
    [age] = [a for a in alarms if a["MetricName"] == "IteratorAge"]  # the stream falling behind, in milliseconds
    assert (age["Namespace"], age["Statistic"], age["Threshold"]) == ("AWS/Lambda", "Maximum", 15 * 60 * 1000)
    assert age["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "DispatchEvents"}}]
    dead_letters = {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]}
    assert [{"Name": "QueueName", "Value": dead_letters}] in dimensions
    assert _events(resources["RetryDeliveries"])[0]["Properties"]["Schedule"] == "rate(1 minute)"


def test_the_shipped_ssm_model_is_botocores_cut_to_every_operation_the_function_calls():
    """chalicelib/aws_models/ holds SSM's model with only the operations the function calls (a cold start parses
    4 KB, not 1.4 MB): it must be botocore's own definition of them, and hold every SSM operation chalicelib calls,
    or that call fails in AWS (regenerate: python -m infra.aws_models)."""
    import re

    from botocore.session import get_session

    from chalicelib.db import aws_session
    from infra import aws_models

    shipped = json.loads(aws_models.model_path("ssm").read_text())
    assert shipped == aws_models.cut("ssm")
    source = (ROOT / "chalicelib" / "config.py").read_text()
    called = {"".join(p.title() for p in op.split("_")) for op in re.findall(r"_ssm\(\)\.(\w+)\(", source)}
    assert called and called <= set(shipped["operations"]), called
    client = aws_session.session().create_client("ssm", region_name="eu-central-1")
    assert set(client.meta.service_model.operation_names) == set(shipped["operations"])
    full = get_session().create_client("ssm", region_name="eu-central-1").meta.service_model
    for op in called:
        assert client.meta.service_model.operation_model(op).input_shape.members.keys() == (
            full.operation_model(op).input_shape.members.keys()
        )


def test_the_shipped_dynamodb_model_holds_every_operation_pynamodb_and_chalicelib_send():
    """DynamoDB's model ships cut too (a request's client parses 66 KB, not 0.7 MB): it must be botocore's own
    definition, and hold every operation pynamodb's connection dispatches and every one chalicelib, the local run or
    the jobs call on the client directly, or that call fails in AWS (regenerate: python -m infra.aws_models)."""
    import inspect
    import re

    from botocore.session import get_session
    from pynamodb.connection import base

    from chalicelib.db import aws_session as aws
    from infra import aws_models

    shipped = json.loads(aws_models.model_path("dynamodb").read_text())
    assert shipped == aws_models.cut("dynamodb")
    constants = vars(base)
    dispatched = {constants[name] for name in re.findall(r"self\.dispatch\((\w+),", inspect.getsource(base))}
    sources = [p.read_text() for root in ("chalicelib", "local") for p in (ROOT / root).rglob("*.py")]
    direct = {
        "".join(part.title() for part in op.split("_"))
        for text in sources
        for op in re.findall(r"\.client\.(\w+)\(", text)
        if op != "HTTPSConnection" and op != "HTTPConnection"
    }
    assert len(dispatched) >= 15 and {"UpdateTimeToLive", "GetItem"} <= direct
    assert dispatched | direct <= set(shipped["operations"]), (dispatched | direct) - set(shipped["operations"])
    client = aws.session().create_client("dynamodb", region_name="eu-central-1")
    assert set(client.meta.service_model.operation_names) == set(shipped["operations"])
    full = get_session().create_client("dynamodb", region_name="eu-central-1").meta.service_model
    for op in shipped["operations"]:
        ours, theirs = client.meta.service_model.operation_model(op), full.operation_model(op)
        assert ours.input_shape.members.keys() == theirs.input_shape.members.keys(), op
        assert ours.output_shape.members.keys() == theirs.output_shape.members.keys(), op


def test_the_shipped_dynamodb_model_resolves_every_call_to_botocores_endpoint():
    """The shipped model leaves out the operation parameters botocore evaluates on every call to pick an endpoint
    (``infra.aws_models.WITHOUT``: the table ARNs of a batch or a transaction, JMESPath over the whole request). The
    rules use an ARN only for its account id, and the function names its table: every call resolves to the endpoint
    botocore's own model gives, whatever the account-id endpoint mode."""
    from botocore.config import Config
    from botocore.session import get_session

    from chalicelib.db import aws_session as aws
    from infra import aws_models

    shipped = json.loads(aws_models.model_path("dynamodb").read_text())
    assert not any(set(aws_models.WITHOUT) & spec.keys() for spec in shipped["operations"].values())
    table = "loyalty"
    calls = {
        "BatchGetItem": {"RequestItems": {table: {"Keys": [{"pk": {"S": "a"}, "sk": {"S": "b"}}]}}},
        "BatchWriteItem": {"RequestItems": {table: [{"DeleteRequest": {"Key": {"pk": {"S": "a"}}}}]}},
        "TransactGetItems": {"TransactItems": [{"Get": {"TableName": table, "Key": {"pk": {"S": "a"}}}}]},
        "TransactWriteItems": {
            "TransactItems": [
                {"ConditionCheck": {"TableName": table, "Key": {}, "ConditionExpression": "x"}},
                {"Put": {"TableName": table, "Item": {}}},
                {"Delete": {"TableName": table, "Key": {}}},
                {"Update": {"TableName": table, "Key": {}, "UpdateExpression": "SET x = :x"}},
            ]
        },
        "GetItem": {"TableName": table, "Key": {"pk": {"S": "a"}}},
    }
    for mode in (None, "preferred", "required", "disabled"):
        made = []
        for session in (aws.session(), get_session()):
            made.append(
                session.create_client(
                    "dynamodb",
                    region_name="eu-central-1",
                    aws_access_key_id="k",
                    aws_secret_access_key="s",
                    aws_account_id="123456789012",
                    config=Config(account_id_endpoint_mode=mode) if mode else None,
                )
            )
        ours, theirs = made
        for op, params in calls.items():
            ends = [c._resolve_endpoint_ruleset(c.meta.service_model.operation_model(op), params, {}) for c in made]
            assert ends[0] == ends[1], (mode, op, ends)
        assert not ours.meta.service_model.operation_model("TransactWriteItems").operation_context_parameters
        assert theirs.meta.service_model.operation_model("TransactWriteItems").operation_context_parameters


# --- review (infra): what the functions send is what their roles allow -------------------------------------------

# The IAM action(s) each DynamoDB operation needs. A transaction needs its members' own actions (no action of its
# own); a batch write is an action of its own (dynamodb:BatchWriteItem), not its members' PutItem/DeleteItem.
OPERATION_ACTIONS = {
    "GetItem": {"dynamodb:GetItem"},
    "BatchGetItem": {"dynamodb:BatchGetItem"},
    "Query": {"dynamodb:Query"},
    "Scan": {"dynamodb:Scan"},
    "PutItem": {"dynamodb:PutItem"},
    "UpdateItem": {"dynamodb:UpdateItem"},
    "DeleteItem": {"dynamodb:DeleteItem"},
    "BatchWriteItem": {"dynamodb:BatchWriteItem"},
    "TransactGetItems": {"dynamodb:GetItem"},
    "TransactWriteItems": {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
    "DescribeTable": {"dynamodb:DescribeTable"},
}


def _record_dynamodb_operations() -> list[str]:
    from chalicelib.db.models import EntryItem

    sent: list[str] = []
    client = EntryItem._get_connection().connection.client
    client.meta.events.register("before-call.dynamodb", lambda model, **_: sent.append(model.name))
    return sent


def test_signing_out_everywhere_sends_only_operations_the_roles_allow(coalition, clock):
    """Sign-out-everywhere (and the operator's revoke-links, and account deletion after its erase) deletes every
    session item of the customer with pynamodb's batch_write: BatchWriteItem, an IAM action of its own. Every
    DynamoDB operation the flow sends must be allowed to the API's role, and watched by a SystemErrors alarm."""
    from chalicelib import db as chalicedb
    from chalicelib.services import customer_auth

    enrolled = coalition.cafe.post("/v1/customers", {"phone": "+7 999 555-01-02"})
    assert enrolled.status in (200, 201), enrolled.json
    cid = enrolled["customer_id"]
    for via in ("code", "link"):
        tx, _ = customer_auth._session_tx(cid, clock.now(), via)
        tx.commit(chalicedb.connection())
    sent = _record_dynamodb_operations()
    assert customer_auth.sign_out_everywhere(cid, clock.now()) == 2
    assert sent, "no DynamoDB call was recorded"
    needed = set().union(*(OPERATION_ACTIONS[op] for op in sent))
    assert needed <= set(build_template.DATA_ACTIONS), (sent, needed - set(build_template.DATA_ACTIONS))
    assert set(sent) <= set(build_template.DYNAMODB_OPERATIONS) | {"DescribeTable"}, sent


def test_the_jobs_worker_is_capped_by_its_queue_not_by_reserved_concurrency():
    """An SQS event source does not know the function's reserved concurrency: its pollers (five at once, then up to
    300 more a minute) receive messages the function is then throttled on. A throttled message counts as received:
    it is hidden for the queue's visibility timeout (90 minutes), and after maxReceiveCount receives goes to the
    dead-letter queue unworked, while the Throttles alarm fires. The event source's MaximumConcurrency caps the
    worker without throttling. And with ApiReservedConcurrency=0, as docs/deploy.md tells accounts whose quota is
    10, no function of the stack may reserve any: Lambda refuses a reservation that leaves under 100 unreserved."""
    from chalicelib.db import keys

    resources = packaged()["Resources"]
    worker = resources["RunJobTask"]["Properties"]
    (event,) = worker["Events"].values()
    assert event["Properties"].get("ScalingConfig") == {"MaximumConcurrency": keys.EXPIRY_SHARDS}
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        reserved = resource["Properties"].get("ReservedConcurrentExecutions")
        assert reserved is None or (name == "APIHandler" and reserved["Fn::If"][0] == "HasApiReservedConcurrency"), (
            name,
            reserved,
        )


def test_the_stage_publishes_no_per_method_metrics_that_no_alarm_reads():
    """Detailed metrics (MetricsEnabled) publish Count, 4XXError, 5XXError, Latency and IntegrationLatency per
    resource and method: with this API's methods that is hundreds of metrics billed at CloudWatch's custom-metric
    rate, more than the whole bill docs/deploy.md gives a small coalition, and no alarm reads them (the 5xx alarm
    reads the stage's own metric, ApiName and Stage, which API Gateway publishes without them)."""
    resources = packaged()["Resources"]
    api = resources["RestAPI"]["Properties"]
    methods = sum(1 for p in api["DefinitionBody"]["paths"].values() for m in p if m != "parameters")
    assert methods > 100  # what per-method metrics would multiply
    assert not any(setting.get("MetricsEnabled") for setting in api["MethodSettings"])
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert all(
        {d["Name"] for d in a["Dimensions"]} == {"ApiName", "Stage"}
        for a in alarms
        if a["Namespace"] == "AWS/ApiGateway"
    )


# What AWS publishes: each metric of an alarm, in its namespace, with exactly these dimensions (an alarm with one
# dimension more or less, or in another namespace, watches a metric nobody publishes and never fires), and the
# statistic that makes "one or more" mean what the alarm says (a queue's depth is a gauge: its Maximum; Lambda's
# IteratorAge is the oldest record's age: its Maximum; the rest are counts: their Sum).
TABLE, INDEX = frozenset({"TableName"}), frozenset({"TableName", "GlobalSecondaryIndexName"})
PUBLISHED = {
    ("AWS/Lambda", "Errors"): ({frozenset({"FunctionName"})}, "Sum"),
    ("AWS/Lambda", "Throttles"): ({frozenset({"FunctionName"})}, "Sum"),
    ("AWS/Lambda", "IteratorAge"): ({frozenset({"FunctionName"})}, "Maximum"),
    ("AWS/ApiGateway", "5XXError"): ({frozenset({"ApiName", "Stage"})}, "Sum"),
    ("AWS/DynamoDB", "ReadThrottleEvents"): ({TABLE, INDEX}, "Sum"),
    ("AWS/DynamoDB", "WriteThrottleEvents"): ({TABLE, INDEX}, "Sum"),
    ("AWS/DynamoDB", "SystemErrors"): ({frozenset({"TableName", "Operation"})}, "Sum"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible"): ({frozenset({"QueueName"})}, "Maximum"),
    ("AWS/SQS", "ApproximateAgeOfOldestMessage"): ({frozenset({"QueueName"})}, "Maximum"),
}


def test_every_alarm_watches_a_metric_aws_publishes_with_the_statistic_and_direction_it_means():
    """test_every_alarm_names_resources_that_exist_so_it_can_fire resolves each dimension's value; this holds the
    rest of what makes an alarm fire: the namespace and metric pair, the exact dimension set, the statistic, and
    that it fires above its threshold (a mutant of any of these passed every other test)."""
    resources = packaged()["Resources"]
    alarms = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert len(alarms) >= 20
    for logical_id, alarm in alarms.items():
        key = (alarm["Namespace"], alarm["MetricName"])
        assert key in PUBLISHED, (logical_id, key)
        published, statistic = PUBLISHED[key]
        names = [d["Name"] for d in alarm["Dimensions"]]
        assert frozenset(names) in published and len(names) == len(set(names)), logical_id
        assert alarm["Statistic"] == statistic, logical_id
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", logical_id
        assert 1 <= alarm["Threshold"] and alarm["Period"] >= 60 and alarm["EvaluationPeriods"] >= 1, logical_id
        assert alarm["TreatMissingData"] == "notBreaching", logical_id  # no data: nothing failed
    assert alarms["Api5xxAlarm"]["Threshold"] == 5  # docs/deploy.md: 5 in 5 minutes


def test_every_secret_parameter_is_an_ssm_path_the_roles_arn_names():
    """The roles grant ssm:GetParameter(s) on arn:...:parameter${Name}: right only for a name with its leading
    slash (/coalition-loyalty/prod/key-pepper -> parameter/coalition-loyalty/...). A name given without one
    (PARAMS="KeyPepperParameter=key-pepper") would deploy a role granting parameterkey-pepper, and every instance
    would fail to start with AccessDenied; the template must refuse such a value."""
    import re

    template = packaged()
    names = [p for p in template["Parameters"] if p.endswith("Parameter")]
    assert len(names) == 2 + len(build_template.NOTIFY_SECRETS)
    for name in names:
        pattern = template["Parameters"][name].get("AllowedPattern")
        assert pattern, name
        assert re.fullmatch(pattern, template["Parameters"][name]["Default"]), name
        for wrong in ("key-pepper", "coalition-loyalty/prod/key-pepper", "/a b", ""):
            assert not re.fullmatch(pattern, wrong), (name, wrong)


def test_docs_count_the_alarms_and_template_size_the_template_has():
    """docs/deploy.md prices the alarms and sizes the template: both follow what make package builds (the alarms
    are $0.10 a month each; the text said 17 and '<function>-errors x 3' when the stack had 7 functions)."""
    import re

    from bench import report

    template = packaged()
    alarms = sum(1 for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm")
    functions = sum(1 for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function")
    text = (ROOT / "docs" / "deploy.md").read_text()
    assert report.ALARMS == alarms
    assert f"The alarms ({alarms} x $0.10)" in text
    assert f"`<function>-errors` x {functions} " in text and f"`<function>-throttles` x {functions} " in text
    (size,) = re.findall(r"the template \((\d+) KB\)", text)
    assert abs(int(size) - PACKAGED.stat().st_size / 1000) < 0.15 * int(size)


def test_the_access_log_holds_only_variables_known_to_carry_no_secret():
    """The deny-list above passes $context.identity.apiKey (an API key) or $context.identity.user: the format may
    use only these variables, whatever their names."""
    import re

    setting = packaged()["Resources"]["RestAPI"]["Properties"]["AccessLogSetting"]
    used = set(re.findall(r"\$[A-Za-z0-9_.]+", setting["Format"]))
    assert used <= {
        "$context.requestId",
        "$context.identity.sourceIp",
        "$context.requestTime",
        "$context.httpMethod",
        "$context.resourcePath",
        "$context.status",
        "$context.protocol",
        "$context.responseLength",
        "$context.responseLatency",
        "$context.integration.latency",
        "$context.integration.status",
        "$context.error.message",
    }, used
