"""Create every AWS resource the app needs, against whatever endpoint boto3 is pointed at.

Used by `make run` (moto server) and by the tests (moto in-process or moto server). Tables come from the
same PynamoDB models the app uses, so the local schema cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from chalicelib.adapters.aws import client
from chalicelib.adapters.tables import MODELS, PREFIX

PENDING_PREFIX = "pending/"
USER_POOL_NAME = "pantau-users"


@dataclass
class Resources:
    region: str
    bucket: str
    user_pool_id: str
    user_pool_client_id: str
    coordinators_topic_arn: str
    notifications_topic_arn: str
    escalation_queue_url: str
    escalation_dlq_url: str

    def env(self) -> dict[str, str]:
        """The environment the app reads (see chalicelib/config.py)."""
        return {
            "PANTAU_BUCKET": self.bucket,
            "PANTAU_USER_POOL_ID": self.user_pool_id,
            "PANTAU_USER_POOL_CLIENT_ID": self.user_pool_client_id,
            "PANTAU_COORDINATORS_TOPIC_ARN": self.coordinators_topic_arn,
            "PANTAU_ESCALATION_QUEUE_URL": self.escalation_queue_url,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def create_tables() -> None:
    for model in MODELS:
        if not model.exists():
            model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
            if model._ttl_attribute() is not None:  # as the template's TimeToLiveSpecification
                model.update_ttl(ignore_update_ttl_errors=False)
        else:
            add_missing_indexes(model)


def add_missing_indexes(model: Any) -> list[str]:
    """A table kept from an earlier run (a local stack's state) gets the global secondary indexes the code has
    gained since, as a deployment adds them (e.g. the clients' `report-index`). Returns the names added."""
    dynamodb = client("dynamodb")
    table = model.Meta.table_name
    have = {i["IndexName"] for i in dynamodb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])}
    schema = model._get_schema()  # PynamoDB's, in the API's own shape
    added = []
    for index in schema.get("global_secondary_indexes", []):
        if index["index_name"] in have:
            continue
        dynamodb.update_table(TableName=table, AttributeDefinitions=index["attribute_definitions"],
                              GlobalSecondaryIndexUpdates=[{"Create": {
                                  "IndexName": index["index_name"], "KeySchema": index["key_schema"],
                                  "Projection": index["projection"]}}])
        added.append(index["index_name"])
    return added


def create_bucket(region: str) -> str:
    s3 = client("s3", region)
    bucket = f"{PREFIX}-photos"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "expire-unreferenced-uploads", "Status": "Enabled", "Filter": {"Prefix": PENDING_PREFIX},
         "Expiration": {"Days": 2}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
        {"ID": "expire-old-versions", "Status": "Enabled", "Filter": {"Prefix": ""},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 30}},
        {"ID": "abort-incomplete-multipart", "Status": "Enabled", "Filter": {"Prefix": ""},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
    ]})
    return bucket


def create_messaging(region: str) -> dict[str, str]:
    sns = client("sns", region)
    sqs = client("sqs", region)
    coordinators = sns.create_topic(Name=f"{PREFIX}-coordinators")["TopicArn"]
    notifications = sns.create_topic(Name=f"{PREFIX}-notifications")["TopicArn"]
    dlq_url = sqs.create_queue(QueueName=f"{PREFIX}-escalations-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    import json

    queue_url = sqs.create_queue(QueueName=f"{PREFIX}-escalations", Attributes={
        "VisibilityTimeout": "120",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
    })["QueueUrl"]
    return {"coordinators": coordinators, "notifications": notifications, "queue": queue_url, "dlq": dlq_url}


def create_user_pool(region: str) -> tuple[str, str]:
    idp = client("cognito-idp", region)
    pool = idp.create_user_pool(
        PoolName=USER_POOL_NAME,
        Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireUppercase": True, "RequireLowercase": True,
                                     "RequireNumbers": True, "RequireSymbols": False}},
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        MfaConfiguration="OPTIONAL",
        Schema=[
            {"Name": "bapas_id", "AttributeDataType": "String", "Mutable": True,
             "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "64"}},
        ],
    )["UserPool"]
    for group, description in (("pk", "Pembimbing Kemasyarakatan"), ("coordinator", "Kasubsi Bimbingan Klien"),
                               ("admin", "National read-only")):
        idp.create_group(UserPoolId=pool["Id"], GroupName=group, Description=description)
    app_client = idp.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="pantau-mobile", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes=["name", "phone_number", "custom:bapas_id"], WriteAttributes=["locale"],
        IdTokenValidity=60, AccessTokenValidity=60, RefreshTokenValidity=30,
        TokenValidityUnits={"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "days"},
    )["UserPoolClient"]
    return pool["Id"], app_client["ClientId"]


def bootstrap(region: str) -> Resources:
    create_tables()
    bucket = create_bucket(region)
    messaging = create_messaging(region)
    pool_id, client_id = create_user_pool(region)
    return Resources(region=region, bucket=bucket, user_pool_id=pool_id, user_pool_client_id=client_id,
                     coordinators_topic_arn=messaging["coordinators"],
                     notifications_topic_arn=messaging["notifications"],
                     escalation_queue_url=messaging["queue"], escalation_dlq_url=messaging["dlq"])
