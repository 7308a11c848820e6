"""Generates infra/resources.json, the template merged into Chalice's SAM output (``chalice package
--merge-template``). Written as code so the three functions' roles, log groups and alarms cannot drift apart; the
generated JSON is committed and a test checks it is current and matches the pynamodb models.

    python -m infra.build_template    # rewrite infra/resources.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FUNCTIONS = {
    "APIHandler": "ApiHandlerRole",
    "ExpirePoints": "ExpirePointsRole",
    "CloseSettlements": "CloseSettlementsRole",
}
OUT = Path(__file__).with_name("resources.json")
# Notification secrets (issue 17): only the API sends to customers; read on first use, so they may stay unset until
# their channel is switched on. Environment variable -> template parameter naming the SSM SecureString.
NOTIFY_SECRETS = {
    "LOYALTY_SMTP_PASSWORD": ("SmtpPasswordParameter", "smtp-password", "the SMTP login's password (e-mail)"),
    "LOYALTY_SMS_API_KEY": ("SmsApiKeyParameter", "sms-api-key", "the SMS gateway's API key (SMSC)"),
    "LOYALTY_TELEGRAM_BOT_TOKEN": ("TelegramBotTokenParameter", "telegram-bot-token", "the Telegram bot's token"),
    "LOYALTY_TELEGRAM_WEBHOOK_SECRET": (
        "TelegramWebhookSecretParameter",
        "telegram-webhook-secret",
        "the secret_token given to Telegram's setWebhook (X-Telegram-Bot-Api-Secret-Token)",
    ),
}
SSM_PARAMETER_ARN = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
DATA_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
]


def table() -> dict[str, Any]:
    from chalicelib.db.models import EntryItem

    schema = EntryItem._get_schema()
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "TableName": {"Ref": "TableName"},
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [dict(sorted(a.items())) for a in schema["attribute_definitions"]],
            "KeySchema": [dict(sorted(k.items())) for k in schema["key_schema"]],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": i["index_name"],
                    "KeySchema": [dict(sorted(k.items())) for k in i["key_schema"]],
                    "Projection": {"ProjectionType": i["projection"]["ProjectionType"]},
                }
                for i in schema["global_secondary_indexes"]
            ],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": True,
            "SSESpecification": {"SSEEnabled": True},
            # Replays by key or natural id must work forever, so no such record or ledger item carries this
            # attribute; only ephemeral items do: the implicit per-request replay records (REQ#..., a day), which
            # only a request's own retries read, rate-limit buckets (RATE#..., once full again), portal and customer
            # sessions and one-time codes (after they expire). TTL is never used as a clock: readers check times.
            "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
        },
    }


def role(function: str) -> dict[str, Any]:
    table_arn = {"Fn::GetAtt": ["LoyaltyTable", "Arn"]}
    statements = [
        {
            "Sid": "LoyaltyTable",
            "Effect": "Allow",
            "Action": DATA_ACTIONS,
            "Resource": [table_arn, {"Fn::Sub": "${LoyaltyTable.Arn}/index/*"}],
        },
        {
            "Sid": "Secrets",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": [
                {"Fn::Sub": SSM_PARAMETER_ARN + "${KeyPepperParameter}"},
                {"Fn::Sub": SSM_PARAMETER_ARN + "${PortalSecretParameter}"},
                *(
                    [{"Fn::Sub": SSM_PARAMETER_ARN + f"${{{p}}}"} for p, _, _ in NOTIFY_SECRETS.values()]
                    if function == "APIHandler"
                    else []
                ),
            ],
        },
        {
            "Sid": "DecryptSecretsViaSsm",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"},
            "Condition": {"StringEquals": {"kms:ViaService": {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}}},
        },
        {
            # By name, not by reference: the log group refers to the function, which refers to this role.
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {
                "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                "log-group:/aws/lambda/${AWS::StackName}-*:*"
            },
        },
    ]
    return {
        "Properties": {
            "Policies": [
                {
                    "PolicyName": f"{function}Policy",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ]
        }
    }


def alarm(
    name: str,
    namespace: str,
    metric: str,
    dimensions: dict[str, Any],
    threshold: int,
    description: str,
    statistic: str = "Sum",
) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": {"Fn::Sub": f"${{AWS::StackName}}-{name}"},
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Statistic": statistic,
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
        },
    }


def function_resources() -> dict[str, Any]:
    """Per function: its environment, role, log group and errors alarm."""
    resources: dict[str, Any] = {}
    secrets_env = {
        "LOYALTY_TABLE": {"Ref": "LoyaltyTable"},
        "LOYALTY_KEY_PEPPER_PARAM": {"Ref": "KeyPepperParameter"},
        "LOYALTY_PORTAL_SECRET_PARAM": {"Ref": "PortalSecretParameter"},
    }
    for function, role_name in FUNCTIONS.items():
        variables = dict(secrets_env)
        if function == "APIHandler":
            variables.update({f"{name}_PARAM": {"Ref": p} for name, (p, _, _) in NOTIFY_SECRETS.items()})
        resources[function] = {"Properties": {"Environment": {"Variables": variables}}}
        resources[role_name] = role(function)
        resources[f"{function}LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{{function}}}"},
                "RetentionInDays": {"Ref": "LogRetentionDays"},
            },
        }
        resources[f"{function}ErrorsAlarm"] = alarm(
            f"{function}-errors",
            "AWS/Lambda",
            "Errors",
            {"FunctionName": {"Ref": function}},
            1,
            f"{function} raised errors",
        )
    return resources


def alarm_resources() -> dict[str, Any]:
    """The API's and the table's alarms, and the topic they notify."""
    resources: dict[str, Any] = {}
    resources["APIHandlerThrottlesAlarm"] = alarm(
        "api-lambda-throttles",
        "AWS/Lambda",
        "Throttles",
        {"FunctionName": {"Ref": "APIHandler"}},
        1,
        "The API Lambda was throttled (concurrency limit)",
    )
    resources["Api5xxAlarm"] = alarm(
        "api-5xx", "AWS/ApiGateway", "5XXError", {"ApiName": {"Ref": "AWS::StackName"}}, 5, "The API answered 5xx"
    )
    resources["TableReadThrottleAlarm"] = alarm(
        "table-read-throttles",
        "AWS/DynamoDB",
        "ReadThrottleEvents",
        {"TableName": {"Ref": "LoyaltyTable"}},
        1,
        "DynamoDB throttled reads",
    )
    resources["TableWriteThrottleAlarm"] = alarm(
        "table-write-throttles",
        "AWS/DynamoDB",
        "WriteThrottleEvents",
        {"TableName": {"Ref": "LoyaltyTable"}},
        1,
        "DynamoDB throttled writes",
    )
    for operation in ("TransactWriteItems", "BatchGetItem", "GetItem", "Query"):
        resources[f"TableSystemErrors{operation}Alarm"] = alarm(
            f"table-system-errors-{operation}",
            "AWS/DynamoDB",
            "SystemErrors",
            {"TableName": {"Ref": "LoyaltyTable"}, "Operation": operation},
            1,
            f"DynamoDB system errors ({operation})",
        )
    resources["AlarmTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {}}
    resources["AlarmEmailSubscription"] = {
        "Type": "AWS::SNS::Subscription",
        "Condition": "HasAlarmEmail",
        "Properties": {"Protocol": "email", "TopicArn": {"Ref": "AlarmTopic"}, "Endpoint": {"Ref": "AlarmEmail"}},
    }
    return resources


def parameters() -> dict[str, Any]:
    return {
        "TableName": {"Type": "String", "Default": "loyalty-prod", "AllowedPattern": "^[A-Za-z0-9_.-]{3,255}$"},
        "KeyPepperParameter": {
            "Type": "String",
            "Default": "/coalition-loyalty/prod/key-pepper",
            "Description": "SSM SecureString: the pepper mixed into API key hashes",
        },
        "PortalSecretParameter": {
            "Type": "String",
            "Default": "/coalition-loyalty/prod/portal-secret",
            "Description": "SSM SecureString: signs customer links and portal sessions",
        },
        **{
            p: {
                "Type": "String",
                "Default": f"/coalition-loyalty/prod/{slug}",
                "Description": f"SSM SecureString: {what} (read only once that channel is on)",
            }
            for p, slug, what in NOTIFY_SECRETS.values()
        },
        "LogRetentionDays": {"Type": "Number", "Default": 90, "AllowedValues": [30, 60, 90, 180, 365]},
        "ApiRateLimit": {"Type": "Number", "Default": 200, "Description": "Steady requests per second"},
        "ApiBurstLimit": {"Type": "Number", "Default": 400},
        "AlarmEmail": {"Type": "String", "Default": "", "Description": "Where alarms are sent (empty: none)"},
    }


def build() -> dict[str, Any]:
    resources: dict[str, Any] = {"LoyaltyTable": table(), **function_resources(), **alarm_resources()}
    resources["RestAPI"] = {
        "Properties": {
            "MethodSettings": [
                {
                    "HttpMethod": "*",
                    "ResourcePath": "/*",
                    "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
                    "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
                    "MetricsEnabled": True,
                }
            ]
        }
    }
    return {
        "Parameters": parameters(),
        "Conditions": {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}},
        "Resources": resources,
        "Outputs": {"TableName": {"Value": {"Ref": "LoyaltyTable"}}, "AlarmTopic": {"Value": {"Ref": "AlarmTopic"}}},
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}")
