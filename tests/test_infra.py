"""Issue 9: the deployable template matches the models, grants no data action on '*', and secrets come from SSM."""

import json
import os
from pathlib import Path

import pytest
from moto import mock_aws

from chalicelib.db.models import ALL_MODELS, EntryItem
from infra import build_template

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
    # execute sets it on REQ# replay records only (tests/test_db.py); one-time codes, customer and portal sessions,
    # rate-limit buckets, Telegram link tokens and idle code-free allowances expire too
    assert sorted(carrying) == [
        "CodeFreeItem",
        "CodeItem",
        "CustomerSessionItem",
        "PortalSessionItem",
        "RateLimitItem",
        "ReplayItem",
        "TelegramLinkItem",
    ]


def test_no_data_action_is_granted_on_everything():
    template = packaged()
    roles = {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert set(roles) == {"ApiHandlerRole", "ExpirePointsRole", "CloseSettlementsRole"}
    for name, role in roles.items():
        for policy in role["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                assert "*" not in resources, (name, statement)
                actions = statement["Action"]
                if any(a.startswith("dynamodb:") for a in actions):
                    assert {json.dumps(r, sort_keys=True) for r in resources} == {
                        json.dumps({"Fn::GetAtt": ["LoyaltyTable", "Arn"]}, sort_keys=True),
                        json.dumps({"Fn::Sub": "${LoyaltyTable.Arn}/index/*"}, sort_keys=True),
                    }


def test_functions_get_the_table_and_secrets_from_the_stack():
    resources = packaged()["Resources"]
    for function in ("APIHandler", "ExpirePoints", "CloseSettlements"):
        env = resources[function]["Properties"]["Environment"]["Variables"]
        assert env["LOYALTY_TABLE"] == {"Ref": "LoyaltyTable"}
        assert env["LOYALTY_KEY_PEPPER_PARAM"] == {"Ref": "KeyPepperParameter"}
        assert "LOYALTY_KEY_PEPPER" not in env and "LOYALTY_PORTAL_SECRET" not in env  # never literals
        assert resources[f"{function}LogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    schedules = {
        resources[f]["Properties"]["Events"][f"{f}Event"]["Properties"]["Schedule"]
        for f in ("ExpirePoints", "CloseSettlements")
    }
    assert schedules == {"cron(15 21 * * ? *)", "cron(0 22 * * ? *)"}
    assert resources["RestAPI"]["Properties"]["MethodSettings"][0]["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    alarms = {r["Properties"]["MetricName"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms == {"Errors", "Throttles", "5XXError", "ReadThrottleEvents", "WriteThrottleEvents", "SystemErrors"}


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
