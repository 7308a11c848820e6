"""``make deploy STAGE=...``: upload the packaged stack and deploy it, in one command, with the AWS CLI.

The template is over CloudFormation's 51,200-byte limit for a template sent inline, so both it and the zip go
through an S3 bucket: the one given (``--bucket``), else ``coalition-loyalty-artifacts-<account>-<region>``, made
on first use (private, encrypted, versioned). ``--dry-run`` prints the commands instead; ``make package`` writes
that plan to build/deploy-plan.txt, which tests/test_infra.py checks.

    python -m infra.deploy --stage prod [--bucket NAME] [--parameter-overrides AlarmEmail=ops@example.com ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BUILD = Path(__file__).resolve().parents[1] / "build"
TEMPLATE = BUILD / "sam.json"
PACKAGED = BUILD / "packaged.json"
TEMPLATE_ARG, PACKAGED_ARG = "build/sam.json", "build/packaged.json"  # make runs from the root
INLINE_TEMPLATE_LIMIT = 51_200  # bytes CloudFormation accepts in TemplateBody; beyond, only from S3
APP = "coalition-loyalty"
ACCOUNT = "${ACCOUNT}"  # in a dry run, a shell variable its first line sets


@dataclass(frozen=True)
class Plan:
    stage: str
    region: str
    bucket: str | None = None  # None: the account's artifacts bucket, made on first use
    overrides: tuple[str, ...] = ()

    @property
    def stack(self) -> str:
        return f"{APP}-{self.stage}"

    def stage_parameters(self) -> list[str]:
        """What tells one stage's stack from another's: its table and its secrets (docs/deploy.md)."""
        params = {
            "TableName": f"loyalty-{self.stage}",
            "KeyPepperParameter": f"/{APP}/{self.stage}/key-pepper",
            "PortalSecretParameter": f"/{APP}/{self.stage}/portal-secret",
            "SmtpPasswordParameter": f"/{APP}/{self.stage}/smtp-password",
            "SmsApiKeyParameter": f"/{APP}/{self.stage}/sms-api-key",
            "TelegramBotTokenParameter": f"/{APP}/{self.stage}/telegram-bot-token",
            "TelegramWebhookSecretParameter": f"/{APP}/{self.stage}/telegram-webhook-secret",
        }
        given = {o.split("=", 1)[0] for o in self.overrides}
        return [f"{k}={v}" for k, v in params.items() if k not in given] + list(self.overrides)

    def bucket_name(self, account: str) -> str:
        return self.bucket or f"{APP}-artifacts-{account}-{self.region}"

    def make_bucket(self, bucket: str) -> list[list[str]]:
        """Creating the artifacts bucket: private, encrypted by default, versioned (a rollback redeploys old keys)."""
        location = [] if self.region == "us-east-1" else [
            "--create-bucket-configuration", f"LocationConstraint={self.region}"
        ]  # fmt: skip
        return [
            ["aws", "s3api", "create-bucket", "--bucket", bucket, "--region", self.region, *location],
            [
                "aws", "s3api", "put-public-access-block", "--bucket", bucket, "--public-access-block-configuration",
                "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
            ],
            ["aws", "s3api", "put-bucket-versioning", "--bucket", bucket, "--versioning-configuration",
             "Status=Enabled"],
        ]  # fmt: skip

    @staticmethod
    def owned(bucket: str, account: str) -> list[str]:
        """Whether ``bucket`` exists and is this account's: S3 names are global, so another account could make one
        of the name first (its name is predictable) and let us write to it, then change the zip we deploy."""
        return ["aws", "s3api", "head-bucket", "--bucket", bucket, "--expected-bucket-owner", account]

    def deploy(self, bucket: str) -> list[list[str]]:
        return [
            [
                "aws", "cloudformation", "package", "--region", self.region,
                "--template-file", TEMPLATE_ARG, "--s3-bucket", bucket, "--s3-prefix", self.stack,
                "--output-template-file", PACKAGED_ARG, "--use-json",
            ],
            [
                "aws", "cloudformation", "deploy", "--region", self.region,
                "--template-file", PACKAGED_ARG, "--stack-name", self.stack,
                "--s3-bucket", bucket, "--s3-prefix", self.stack,
                "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND", "--no-fail-on-empty-changeset",
                "--parameter-overrides", *self.stage_parameters(),
            ],
            [
                "aws", "cloudformation", "describe-stacks", "--region", self.region, "--stack-name", self.stack,
                "--query", "Stacks[0].Outputs", "--output", "table",
            ],
        ]  # fmt: skip


def check_package(stage: str) -> None:
    if not TEMPLATE.exists():
        sys.exit("build/sam.json is missing: run `make package` first")
    tags = {
        r["Properties"].get("Tags", {}).get("aws-chalice", "")
        for r in json.loads(TEMPLATE.read_text())["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    if not all(f":stage={stage}:" in t for t in tags):
        sys.exit(f"build/ was packaged for another stage ({sorted(tags)}): run `make package STAGE={stage}`")


def show(command: list[str]) -> str:
    """The command as one shell line; an argument naming the account stays a double-quoted ${ACCOUNT}."""
    return " ".join(f'"{c}"' if ACCOUNT in c else shlex.quote(c) for c in command)


def dry_run(plan: Plan) -> str:
    bucket = plan.bucket_name(ACCOUNT)
    lines = [
        f"# {plan.stack}: {TEMPLATE.stat().st_size} bytes of template (inline limit {INLINE_TEMPLATE_LIMIT}), "
        "so it and the zip go through S3",
        "set -e",
        "ACCOUNT=$(aws sts get-caller-identity --query Account --output text)",
    ]
    owned = show(plan.owned(bucket, ACCOUNT))
    if plan.bucket is None:
        made = " && ".join(show(c) for c in plan.make_bucket(bucket))
        lines.append(f"{owned} 2>/dev/null || {{ {made}; }}")
    lines.append(owned)  # ours, whoever made it: else the deploy stops here
    lines += [show(c) for c in plan.deploy(bucket)]
    return "\n".join(lines)


def run(plan: Plan) -> None:
    def call(command: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        print("+", show(command), file=sys.stderr, flush=True)
        # a fixed argv of the aws CLI, no shell
        return subprocess.run(command, check=check, text=True, capture_output=command[1:2] == ["sts"])  # noqa: S603

    account = call(["aws", "sts", "get-caller-identity", "--query", "Account", "--output", "text"]).stdout.strip()
    bucket = plan.bucket_name(account)
    if plan.bucket is None and call(plan.owned(bucket, account), check=False).returncode:
        for command in plan.make_bucket(bucket):
            call(command)
    if call(plan.owned(bucket, account), check=False).returncode:
        sys.exit(f"s3://{bucket} is not this account's ({account}): nothing was uploaded")
    for command in plan.deploy(bucket):
        call(command)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--region", default=None, help="default: AWS_REGION, AWS_DEFAULT_REGION, eu-central-1")
    parser.add_argument("--bucket", default=None)
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1"
    plan = Plan(args.stage, region, args.bucket, tuple(args.parameter_overrides))
    check_package(args.stage)
    if args.dry_run:
        print(dry_run(plan))
    else:
        run(plan)


if __name__ == "__main__":
    main()
