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
    "RunJobTask": "RunJobTaskRole",
    "SendCustomerMessages": "SendCustomerMessagesRole",
    "DispatchEvents": "DispatchEventsRole",
    "RetryDeliveries": "RetryDeliveriesRole",
}
# Functions that send to customers, and so read the channels' secrets: the API (codes, links), the hourly
# messages job (reminders, greetings), and the dispatcher's two functions, which retry the codes and links whose
# first send failed (docs/architecture.md, "Messages after a write") and tell owners of a switched-off endpoint.
SENDERS = ("APIHandler", "SendCustomerMessages", "DispatchEvents", "RetryDeliveries")
OUT = Path(__file__).with_name("resources.json")
# Notification secrets: only SENDERS send to customers; read on first use, so they may stay unset until
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
APP_NAME = json.loads(Path(__file__).parents[1].joinpath(".chalice", "config.json").read_text())["app_name"]
# API Gateway (REST) gives up on an integration after 29 s and answers 504 while the function may still be writing;
# the API function stops first, so a client never sees a timeout for a request that went on to succeed.
API_GATEWAY_TIMEOUT_SECONDS = 29
API_TIMEOUT_SECONDS = 25
JOBS = ("ExpirePoints", "CloseSettlements", "SendCustomerMessages", "RetryDeliveries")
# The jobs' worker (app.py's run_job_task): one task a message of JobsQueue, an expiry segment or a page run of a
# reconciliation. Its concurrency is the expiry's fan-out (one instance per index segment, keys.EXPIRY_SHARDS) and
# caps the write rate a night's expiry puts on the table (docs/lifecycle.md, "A million customers a night").
WORKER = "RunJobTask"
WORKER_TIMEOUT_SECONDS = 900  # Lambda's limit; a task hands itself on after 600 s (services/jobs.py)
WORKER_CONCURRENCY = 16
# SQS hides a message being worked for this long: six times the worker's timeout, as AWS advises for a function's
# queue, so a slow task is not handed to a second instance while the first still runs.
JOBS_QUEUE_VISIBILITY_SECONDS = 6 * WORKER_TIMEOUT_SECONDS
JOBS_QUEUE_TRIES = 5  # then the message goes to the jobs' dead-letter queue (and its alarm)
JOBS_QUEUE_MAX_AGE_SECONDS = 3_600  # a task waiting longer means the workers are stuck or too few
JOB_RULE_NAMES = {
    "ExpirePoints": "expire-points",
    "CloseSettlements": "close-settlements",
    "SendCustomerMessages": "send-customer-messages",
    "RetryDeliveries": "retry-deliveries",
}
# The dispatcher (app.py's dispatch_events, chalicelib/services/dispatcher.py): the table's stream, filtered to the
# outbox's inserts, feeds it; a record it reports failed is retried from that record, then sent to the events'
# dead-letter queue (RetryDeliveries' minute pass also finds what is left in the outbox, so nothing waits for a
# person). Each record may make a first attempt to a few endpoints of at most webhook_http.TIMEOUT_SECONDS each.
DISPATCHER = "DispatchEvents"
DISPATCHER_TIMEOUT_SECONDS = 300
DISPATCHER_BATCH = 10
DISPATCHER_TRIES = 5
# The oldest stream record not yet handed to the dispatcher: older than this, webhooks and CRMs lag by as much
# (the stream keeps records 24 hours: a dispatcher stuck that long loses them to the minute pass's poll).
DISPATCHER_MAX_ITERATOR_AGE_MS = 15 * 60 * 1000
OUTBOX_FILTER = json.dumps(
    {"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "OUTBOX#"}]}}}}, separators=(",", ":")
)
# Every DynamoDB operation chalicelib/db sends; SystemErrors is published per table and operation.
DYNAMODB_OPERATIONS = (
    "GetItem",
    "BatchGetItem",
    "Query",
    "TransactWriteItems",
    "UpdateItem",
    "PutItem",
    "DeleteItem",
    "BatchWriteItem",
)
# One JSON line per request, of values that never carry a secret: the route's template ($context.resourcePath, e.g.
# /v1/customers/{customer_id}/balance), never the path with its values, the query string (the customer page's
# ?token=) or any header (Authorization, cookies).
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "time": "$context.requestTime",
        "method": "$context.httpMethod",
        "resource": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
        "integrationLatencyMs": "$context.integration.latency",
        "integrationStatus": "$context.integration.status",
        "error": "$context.error.message",
    },
    separators=(",", ":"),
)
API_GATEWAY_LOGS_POLICY = "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
SSM_PARAMETER_ARN = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
# A secret's parameter name, with its leading slash: the roles' ARNs above append the name to "parameter", right
# only for a path name (SSM's characters: letters, digits, _ . - and / between levels).
SSM_PARAMETER_NAME_PATTERN = "^/[A-Za-z0-9_.\\-]+(/[A-Za-z0-9_.\\-]+)*$"
DATA_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    # pynamodb's batch_write (sign-out-everywhere deletes a customer's sessions): an action of its own, unlike a
    # transaction, which needs only its members' actions
    "dynamodb:BatchWriteItem",
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
            # The outbox's inserts reach the dispatcher through the stream (the event is in the new image).
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
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
            "Action": ["ssm:GetParameters", "ssm:GetParameter"],
            "Resource": [
                {"Fn::Sub": SSM_PARAMETER_ARN + "${KeyPepperParameter}"},
                {"Fn::Sub": SSM_PARAMETER_ARN + "${PortalSecretParameter}"},
                *(
                    [{"Fn::Sub": SSM_PARAMETER_ARN + f"${{{p}}}"} for p, _, _ in NOTIFY_SECRETS.values()]
                    if function in SENDERS
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
    # Every function hands tasks to the jobs' worker (the daily jobs their segments, the API a reconciliation).
    statements.append(
        {
            "Sid": "JobsQueueSend",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": {"Fn::GetAtt": ["JobsQueue", "Arn"]},
        }
    )
    if function == WORKER:
        statements.append(
            {
                "Sid": "JobsQueueReceive",
                "Effect": "Allow",
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                ],
                "Resource": {"Fn::GetAtt": ["JobsQueue", "Arn"]},
            }
        )
    if function == DISPATCHER:
        statements.append(
            {
                "Sid": "TableStream",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:DescribeStream",
                    "dynamodb:ListStreams",
                ],
                "Resource": {"Fn::GetAtt": ["LoyaltyTable", "StreamArn"]},
            }
        )
        statements.append(
            {
                # The event source mapping sends a batch that failed for good here with the function's own role.
                "Sid": "EventsDeadLetterQueue",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]},
            }
        )
    if function in JOBS:
        statements.append(
            {
                # Lambda sends a job's failed asynchronous invocation here with the function's own role.
                "Sid": "DeadLetterQueue",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]},
            }
        )
    return {
        "Properties": {
            # X-Ray's write actions take no resource: its AWS-managed policy, only while tracing is on.
            "ManagedPolicyArns": {
                "Fn::If": [
                    "TracingActive",
                    [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"}],
                    {"Ref": "AWS::NoValue"},
                ]
            },
            "Policies": [
                {
                    "PolicyName": f"{function}Policy",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
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


def function_properties(function: str, variables: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {"Environment": {"Variables": variables}, "Tracing": {"Ref": "Tracing"}}
    if function == "APIHandler":
        properties["Timeout"] = API_TIMEOUT_SECONDS
        properties["ReservedConcurrentExecutions"] = {
            "Fn::If": ["HasApiReservedConcurrency", {"Ref": "ApiReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
        }
    elif function == WORKER:
        # Invoked by the queue's event source mapping (synchronously): a task that fails returns to the queue and,
        # after JOBS_QUEUE_TRIES deliveries, goes to the dead-letter queue by the queue's redrive policy. Capped by
        # the event source's MaximumConcurrency, not by reserved concurrency: the pollers do not know the latter and
        # would receive messages the function is throttled on (each throttle a receive towards the dead-letter
        # queue), and a reservation would not deploy in an account whose quota leaves no 100 unreserved.
        properties["Timeout"] = WORKER_TIMEOUT_SECONDS
        properties["Events"] = {
            f"{function}Queue": {
                "Type": "SQS",
                "Properties": {
                    "Queue": {"Fn::GetAtt": ["JobsQueue", "Arn"]},
                    "BatchSize": 1,
                    "ScalingConfig": {"MaximumConcurrency": WORKER_CONCURRENCY},
                },
            }
        }
    elif function == DISPATCHER:
        properties["Timeout"] = DISPATCHER_TIMEOUT_SECONDS
        properties["Events"] = {
            f"{function}Stream": {
                "Type": "DynamoDB",
                "Properties": {
                    "Stream": {"Fn::GetAtt": ["LoyaltyTable", "StreamArn"]},
                    "StartingPosition": "TRIM_HORIZON",
                    "BatchSize": DISPATCHER_BATCH,
                    "MaximumBatchingWindowInSeconds": 1,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    "BisectBatchOnFunctionError": True,
                    "MaximumRetryAttempts": DISPATCHER_TRIES,
                    "MaximumRecordAgeInSeconds": 3600,
                    "DestinationConfig": {
                        "OnFailure": {"Destination": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}}
                    },
                    "FilterCriteria": {"Filters": [{"Pattern": OUTBOX_FILTER}]},
                },
            }
        }
    else:
        # A scheduled job runs asynchronously: what still fails after Lambda's two retries lands in the queue
        # (and its alarm) instead of vanishing; so does an event EventBridge could not deliver at all.
        properties["DeadLetterQueue"] = {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}}
        properties["Events"] = {
            f"{function}Event": {
                "Properties": {
                    "Name": {"Fn::Sub": f"${{AWS::StackName}}-{JOB_RULE_NAMES[function]}"},
                    "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}},
                    "RetryPolicy": {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 3600},
                }
            }
        }
    return properties


def function_resources() -> dict[str, Any]:
    """Per function: its environment, role, log group, errors and throttles alarms."""
    resources: dict[str, Any] = {}
    secrets_env = {
        "LOYALTY_TABLE": {"Ref": "LoyaltyTable"},
        "LOYALTY_KEY_PEPPER_PARAM": {"Ref": "KeyPepperParameter"},
        "LOYALTY_PORTAL_SECRET_PARAM": {"Ref": "PortalSecretParameter"},
    }
    for function, role_name in FUNCTIONS.items():
        variables = {**secrets_env, "LOYALTY_JOBS_QUEUE_URL": {"Ref": "JobsQueue"}}
        if function in SENDERS:
            variables.update({f"{name}_PARAM": {"Ref": p} for name, (p, _, _) in NOTIFY_SECRETS.items()})
        # The customer's links (from the API) and unsubscribe links (in marketing messages) are built under it; the
        # API without it builds them under the address API Gateway was called at, never under a caller's header.
        if function in ("APIHandler", "SendCustomerMessages"):
            variables["LOYALTY_PUBLIC_BASE_URL"] = {"Ref": "PublicBaseUrl"}
        resources[function] = {"Properties": function_properties(function, variables)}
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
            f"{function} failed"
            + (
                " (a scheduled job)"
                if function in JOBS
                else " (the events' dispatcher: its stream retries the batch)"
                if function == DISPATCHER
                else " (a task of the jobs' queue)"
                if function == WORKER
                else ""
            ),
        )
        resources[f"{function}ThrottlesAlarm"] = alarm(
            f"{function}-throttles",
            "AWS/Lambda",
            "Throttles",
            {"FunctionName": {"Ref": function}},
            1,
            f"{function} was throttled (reserved or account concurrency)",
        )
        if function == DISPATCHER:
            resources[f"{function}IteratorAgeAlarm"] = alarm(
                f"{function}-iterator-age",
                "AWS/Lambda",
                "IteratorAge",
                {"FunctionName": {"Ref": function}},
                DISPATCHER_MAX_ITERATOR_AGE_MS,
                "The events' dispatcher is over 15 minutes behind the table's stream: webhooks and CRM updates "
                "lag (failing batches retried, or throttled)",
                statistic="Maximum",
            )
    return resources


def jobs_dead_letter_resources() -> dict[str, Any]:
    rules = [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/${{AWS::StackName}}-{n}"}
        for n in JOB_RULE_NAMES.values()
    ]
    return {
        "JobsDeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1_209_600, "SqsManagedSseEnabled": True},
        },
        "JobsDeadLetterQueuePolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "JobsDeadLetterQueue"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ScheduleRulesOnly",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]},
                            "Condition": {"ArnEquals": {"aws:SourceArn": rules}},
                        }
                    ],
                },
            },
        },
        "JobsDeadLetterAlarm": alarm(
            "jobs-dead-letters",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": {"Fn::GetAtt": ["JobsDeadLetterQueue", "QueueName"]}},
            1,
            "A scheduled job or a task of the jobs' queue failed for good (it is in the dead-letter queue)",
            statistic="Maximum",
        ),
        "EventsDeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1_209_600, "SqsManagedSseEnabled": True},
        },
        "EventsDeadLetterAlarm": alarm(
            "events-dead-letters",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]}},
            1,
            "The dispatcher gave up on a batch of outbox events (the minute pass delivers what is still in the "
            "outbox; the queue holds where the batch was in the stream, not its records, which the stream keeps "
            "24 hours)",
            statistic="Maximum",
        ),
        "JobsQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "VisibilityTimeout": JOBS_QUEUE_VISIBILITY_SECONDS,
                "MessageRetentionPeriod": 1_209_600,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]},
                    "maxReceiveCount": JOBS_QUEUE_TRIES,
                },
            },
        },
        "JobsQueueAgeAlarm": alarm(
            "jobs-queue-age",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"QueueName": {"Fn::GetAtt": ["JobsQueue", "QueueName"]}},
            JOBS_QUEUE_MAX_AGE_SECONDS,
            "A task has waited over an hour in the jobs' queue: the workers are stuck or too few",
            statistic="Maximum",
        ),
    }


def api_resources() -> dict[str, Any]:
    """The REST API's throttling, access log, tracing, and the account setting API Gateway needs to write logs."""
    return {
        "RestAPI": {
            "DependsOn": ["ApiGatewayAccount"],
            "Properties": {
                "MethodSettings": [
                    {
                        "HttpMethod": "*",
                        "ResourcePath": "/*",
                        "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
                        "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
                        # No per-method metrics: five per resource and method, billed as custom metrics, read by
                        # no alarm (the stage's own metrics are published without them).
                        "MetricsEnabled": False,
                    }
                ],
                "AccessLogSetting": {
                    "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
                    "Format": ACCESS_LOG_FORMAT,
                },
                "TracingEnabled": {"Fn::If": ["TracingActive", True, False]},
            },
        },
        "ApiAccessLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": "/aws/apigateway/${AWS::StackName}-access"},
                "RetentionInDays": {"Ref": "LogRetentionDays"},
            },
        },
        # API Gateway writes access logs with one role per account and region. Given an existing one (another
        # stack's), this stack leaves it be; else it creates it (deleting the stack leaves the setting dangling).
        "ApiGatewayCloudWatchRole": {
            "Type": "AWS::IAM::Role",
            "Condition": "CreateApiGatewayLogRole",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [{"Fn::Sub": API_GATEWAY_LOGS_POLICY}],
            },
        },
        "ApiGatewayAccount": {
            "Type": "AWS::ApiGateway::Account",
            "Properties": {
                "CloudWatchRoleArn": {
                    "Fn::If": [
                        "CreateApiGatewayLogRole",
                        {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]},
                        {"Ref": "ApiGatewayCloudWatchRoleArn"},
                    ]
                }
            },
        },
    }


def alarm_resources() -> dict[str, Any]:
    """The API's and the table's alarms, and the topic they notify."""
    from chalicelib.db.models import CustomerAtPartnerIndex, PartnerPeriodIndex

    resources: dict[str, Any] = {}
    resources["Api5xxAlarm"] = alarm(
        "api-5xx",
        "AWS/ApiGateway",
        "5XXError",
        # API Gateway names a REST API's metrics by the API's name (Chalice's app name: the title of the API it
        # defines) and its stage; a stack's name would match no metric, so the alarm could never fire.
        {"ApiName": APP_NAME, "Stage": {"Ref": "RestAPI.Stage"}},
        5,
        "The API answered 5xx",
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
    # An index's throttling is published under its own name only ("the TableName dimension returns the
    # WriteThrottleEvents for the table, but not for any global secondary indexes"); a throttled index write
    # throttles the table's write too.
    for index in (CustomerAtPartnerIndex, PartnerPeriodIndex):
        name = index.Meta.index_name
        for kind in ("Read", "Write"):
            resources[f"Index{kind}Throttle{name.capitalize()}Alarm"] = alarm(
                f"index-{kind.lower()}-throttles-{name}",
                "AWS/DynamoDB",
                f"{kind}ThrottleEvents",
                {"TableName": {"Ref": "LoyaltyTable"}, "GlobalSecondaryIndexName": name},
                1,
                f"DynamoDB throttled {kind.lower()}s of the index {name} ({index.__name__})",
            )
    for operation in DYNAMODB_OPERATIONS:
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
            "AllowedPattern": SSM_PARAMETER_NAME_PATTERN,
            "Description": "SSM SecureString: the pepper mixed into API key hashes",
        },
        "PortalSecretParameter": {
            "Type": "String",
            "Default": "/coalition-loyalty/prod/portal-secret",
            "AllowedPattern": SSM_PARAMETER_NAME_PATTERN,
            "Description": "SSM SecureString: signs customer links and portal sessions",
        },
        **{
            p: {
                "Type": "String",
                "Default": f"/coalition-loyalty/prod/{slug}",
                "AllowedPattern": SSM_PARAMETER_NAME_PATTERN,
                "Description": f"SSM SecureString: {what} (read only once that channel is on)",
            }
            for p, slug, what in NOTIFY_SECRETS.values()
        },
        "PublicBaseUrl": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^(https://[^\\s/?#]+(/[^\\s?#]*)?)?$",
            "Description": "The public address of the customer pages (your domain, or the API's stage URL): the "
            "customer's links and the unsubscribe links in marketing messages; empty: links go under the address the "
            "API was called at, and the messages tell customers to use their page",
        },
        "LogRetentionDays": {"Type": "Number", "Default": 90, "AllowedValues": [30, 60, 90, 180, 365]},
        "ApiRateLimit": {"Type": "Number", "Default": 200, "Description": "Steady requests per second"},
        "ApiBurstLimit": {"Type": "Number", "Default": 400},
        "AlarmEmail": {"Type": "String", "Default": "", "Description": "Where alarms are sent (empty: none)"},
        "ApiReservedConcurrency": {
            "Type": "Number",
            "Default": 50,
            "MinValue": 0,
            "Description": "Instances kept for the API, also its ceiling (0: none; the account keeps 100 unreserved)",
        },
        "Tracing": {
            "Type": "String",
            "Default": "PassThrough",
            "AllowedValues": ["PassThrough", "Active"],
            "Description": "Active: X-Ray traces of the API stage and the functions (billed per trace)",
        },
        "ApiGatewayCloudWatchRoleArn": {
            "Type": "String",
            "Default": "",
            "Description": "The account's existing API Gateway logging role, if another stack made one (empty: create)",
        },
    }


def build() -> dict[str, Any]:
    resources: dict[str, Any] = {
        "LoyaltyTable": table(),
        **function_resources(),
        **alarm_resources(),
        **jobs_dead_letter_resources(),
        **api_resources(),
    }
    return {
        "Parameters": parameters(),
        "Conditions": {
            "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
            "HasApiReservedConcurrency": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ApiReservedConcurrency"}, 0]}]},
            "TracingActive": {"Fn::Equals": [{"Ref": "Tracing"}, "Active"]},
            "CreateApiGatewayLogRole": {"Fn::Equals": [{"Ref": "ApiGatewayCloudWatchRoleArn"}, ""]},
        },
        "Resources": resources,
        "Outputs": {
            "TableName": {"Value": {"Ref": "LoyaltyTable"}},
            "AlarmTopic": {"Value": {"Ref": "AlarmTopic"}},
            "JobsDeadLetterQueue": {"Value": {"Ref": "JobsDeadLetterQueue"}},
            "JobsQueue": {"Value": {"Ref": "JobsQueue"}},
            "EventsDeadLetterQueue": {"Value": {"Ref": "EventsDeadLetterQueue"}},
            "ApiAccessLogGroup": {"Value": {"Ref": "ApiAccessLogGroup"}},
        },
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}")
