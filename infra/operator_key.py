"""Create an operator (coalition admin) key in a deployed stack's table. Prints the key once; stores only its hash.

    AWS_DEFAULT_REGION=eu-central-1 python -m infra.operator_key --table loyalty-prod \
        --pepper-param /coalition-loyalty/prod/key-pepper
"""

from __future__ import annotations

import argparse
import secrets
from datetime import UTC, datetime

from chalicelib import db
from chalicelib.services import auth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", required=True)
    parser.add_argument("--pepper-param", required=True, help="SSM SecureString holding the key pepper")
    parser.add_argument("--region", default=None)
    args = parser.parse_args()
    import boto3

    session = boto3.session.Session(region_name=args.region)
    pepper = session.client("ssm").get_parameter(Name=args.pepper_param, WithDecryption=True)["Parameter"]["Value"]
    db.bind(args.table, session.region_name or "eu-central-1", None)
    key = "op_" + secrets.token_urlsafe(32)
    key_id = auth.ensure_operator_key(key, pepper, datetime.now(UTC).isoformat())
    print(f"Operator key (shown once, store it in your password manager): {key}\nKey id: {key_id}")


if __name__ == "__main__":
    main()
