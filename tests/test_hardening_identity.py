"""Issue 13 item 2: the app client writes nothing Pantau reads; coordinators and admins need TOTP MFA.

Separate from tests/test_hardening.py: these tests need a fresh moto account each (the `aws` fixture).
"""

from __future__ import annotations

from typing import Any

from tests.support import assert_problem

# ----- 2. Cognito: nothing the app client may write reaches an SMS; MFA for coordinators and admins -------

READ_BY_PANTAU = {"name", "phone_number", "email", "custom:bapas_id", "preferred_username"}


def _template_resources() -> dict[str, Any]:
    from infra import template as tpl

    return tpl.load(tpl.TEMPLATE.read_text())["Resources"]


def test_the_app_client_may_write_no_attribute_pantau_reads(aws):
    from infra import template as tpl

    app_client = _template_resources()["UserPoolClient"]["Properties"]
    writable = app_client["WriteAttributes"]
    # Left out or empty, Cognito would let the user write every standard attribute (`name` included).
    assert writable and not set(writable) & READ_BY_PANTAU, writable
    assert writable == tpl.APP_CLIENT_WRITE_ATTRIBUTES
    from chalicelib.adapters.aws import client

    local = client("cognito-idp").describe_user_pool_client(
        UserPoolId=aws.resources.user_pool_id, ClientId=aws.resources.user_pool_client_id)["UserPoolClient"]
    assert local["WriteAttributes"] == writable  # the local stack (moto) is configured the same way


def test_the_deployed_functions_require_mfa_for_coordinators_and_admins():
    from infra import template as tpl

    r = _template_resources()
    pool = r["UserPool"]["Properties"]
    assert pool["MfaConfiguration"] == "OPTIONAL" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert tpl.ENVIRONMENT["PANTAU_MFA_ROLES"] == "coordinator,admin"
    for fn in tpl.app_functions():
        assert r[fn["cfn"]]["Properties"]["Environment"]["Variables"]["PANTAU_MFA_ROLES"] == "coordinator,admin"


def _enrol_totp(aws: Any, username: str) -> str:
    """Set up an authenticator app for the user the way the app does, then sign in with a code: the ID token."""
    from chalicelib.adapters.aws import client
    from infra.seed import PASSWORD

    idp = client("cognito-idp")
    cid = aws.resources.user_pool_client_id
    first = idp.initiate_auth(ClientId=cid, AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})["AuthenticationResult"]
    idp.associate_software_token(AccessToken=first["AccessToken"])
    idp.verify_software_token(AccessToken=first["AccessToken"], UserCode="123456")
    idp.set_user_mfa_preference(AccessToken=first["AccessToken"],
                                SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    challenge = idp.initiate_auth(ClientId=cid, AuthFlow="USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"  # from now on every sign-in asks for a code
    done = idp.respond_to_auth_challenge(ClientId=cid, ChallengeName="SOFTWARE_TOKEN_MFA",
                                         Session=challenge["Session"],
                                         ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": "123456"})
    return done["AuthenticationResult"]["IdToken"]


def test_coordinators_and_admins_without_totp_are_refused_by_the_gate(aws, monkeypatch):
    from chalicelib import config
    from chalicelib.adapters.directory import DIRECTORY

    monkeypatch.setenv("PANTAU_MFA_ROLES", "coordinator,admin")
    config.reset()
    try:
        for user, path in (("kasubsi.jaksel", "/v1/clients"), ("admin.pusat", "/v1/me")):
            body = assert_problem(aws.get(path, user), 403, code="mfa_required")
            assert "TOTP" in body["detail"]
        assert aws.get("/v1/clients", "pk.andi").status == 200  # PKs are not asked for MFA
        assert aws.get("/v1/health").status == 200
        token = _enrol_totp(aws, "kasubsi.jaksel")
        DIRECTORY.clear()  # (the gate caches the user's MFA state for 5 minutes)
        assert aws.get("/v1/clients", token=token).status == 200
        assert aws.get("/v1/clients", "kasubsi.jaksel").status == 200
        assert_problem(aws.get("/v1/me", "admin.pusat"), 403, code="mfa_required")
    finally:
        monkeypatch.delenv("PANTAU_MFA_ROLES")
        config.reset()
    assert aws.get("/v1/me", "admin.pusat").status == 200  # the local stack runs without the requirement
