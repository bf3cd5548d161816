"""Subscribe a coordinator to the coordinators' topic, with a filter policy for their own Bapas.

Every escalation summary is published to the one `<prefix>-coordinators` topic with the message attribute
`bapas_id` (services/outbound.py). A subscription without a filter policy would receive every Bapas's
escalations; this is the one place subscriptions are made (the local seed uses it, operators run it):

    python -m infra.subscriptions --topic-arn $COORDINATORS_TOPIC --bapas jaksel --email kasubsi@example.go.id
    python -m infra.subscriptions --topic-arn $COORDINATORS_TOPIC --bapas jaksel --sms +6281100000001

(with the stack's AWS credentials and region). See docs/operations.md, "Coordinators' escalation summaries".
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

PROTOCOLS = ("email", "sms", "sqs", "https")


def filter_policy(bapas_id: str) -> str:
    """The subscription's filter policy: only messages whose `bapas_id` attribute is this Bapas."""
    if not bapas_id or not isinstance(bapas_id, str):
        raise ValueError("a Bapas id is required: a coordinator never receives other Bapas's escalations")
    return json.dumps({"bapas_id": [bapas_id]}, separators=(",", ":"))


def subscribe_coordinator(sns: Any, topic_arn: str, bapas_id: str, protocol: str, endpoint: str) -> str:
    """Subscribe `endpoint` to the topic for `bapas_id`'s escalations only; returns the subscription ARN (or
    `pending confirmation` for an e-mail address until it is confirmed)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}")
    response = sns.subscribe(TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint, ReturnSubscriptionArn=True,
                             Attributes={"FilterPolicy": filter_policy(bapas_id),
                                         "FilterPolicyScope": "MessageAttributes"})
    return str(response["SubscriptionArn"])


def unfiltered(sns: Any, topic_arn: str) -> list[str]:
    """Subscriptions of the topic that have no filter policy (each would receive every Bapas's escalations)."""
    out = []
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for sub in page["Subscriptions"]:
            arn = sub["SubscriptionArn"]
            if not arn.startswith("arn:"):
                continue  # pending confirmation: its attributes cannot be read yet
            attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
            if not attributes.get("FilterPolicy"):
                out.append(arn)
    return out


def main(argv: list[str]) -> int:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topic-arn", required=True)
    parser.add_argument("--bapas", required=True)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--email")
    group.add_argument("--sms")
    args = parser.parse_args(argv)
    sns = boto3.client("sns")
    protocol, endpoint = ("email", args.email) if args.email else ("sms", args.sms)
    print(subscribe_coordinator(sns, args.topic_arn, args.bapas, protocol, endpoint))
    missing = unfiltered(sns, args.topic_arn)
    if missing:
        print("warning: subscriptions without a filter policy receive every Bapas's escalations:", *missing,
              sep="\n  ", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
