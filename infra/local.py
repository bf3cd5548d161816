"""The local stack: moto server + `chalice local` on loopback, bootstrapped and seeded.

`python -m infra.local run` is what `make run` calls; `start_stack()` is what the HTTP tests use.
`python -m infra.local invoke NAME TIME` runs a scheduled/event function against a running stack.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STACK_FILE = ROOT / ".local" / "stack.json"
REGION = "ap-southeast-3"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def base_env(endpoint: str) -> dict[str, str]:
    from infra.fake_aws import FAKE_ENV

    return {**FAKE_ENV, "AWS_ENDPOINT_URL": endpoint}


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@dataclass
class Stack:
    api_url: str
    endpoint: str
    resources: Any
    env: dict[str, str]
    procs: list[subprocess.Popen] = field(default_factory=list)
    seeded: dict[str, list[str]] = field(default_factory=dict)

    def stack_json(self) -> dict[str, Any]:
        from infra import seed

        return {
            "api_url": self.api_url,
            "aws_endpoint_url": self.endpoint,
            "region": REGION,
            "user_pool_id": self.resources.user_pool_id,
            "user_pool_client_id": self.resources.user_pool_client_id,
            "bucket": self.resources.bucket,
            "coordinators_topic_arn": self.resources.coordinators_topic_arn,
            "escalation_queue_url": self.resources.escalation_queue_url,
            "escalation_dlq_url": self.resources.escalation_dlq_url,
            "users": [{"username": u.username, "password": seed.PASSWORD, "role": u.role, "bapas_id": u.bapas_id}
                      for u in seed.USERS],
            "seeded_clients": self.seeded,
        }

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


def start_stack(moto_port: int | None = None, api_port: int | None = None, seed_data: bool = True,
                log_dir: Path | None = None) -> Stack:
    moto_port = moto_port or free_port()
    api_port = api_port or free_port()
    endpoint = f"http://{HOST}:{moto_port}"
    api_url = f"http://{HOST}:{api_port}"
    # Reply links in SMS point at the API itself locally (in AWS: the stack output PublicUrl, infra/template.py).
    env = {**os.environ, **base_env(endpoint), "PANTAU_PUBLIC_URL": api_url}
    os.environ.update(base_env(endpoint))
    os.environ["PANTAU_PUBLIC_URL"] = api_url
    log_dir = log_dir or ROOT / ".local"
    log_dir.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    stack = Stack(api_url=api_url, endpoint=endpoint, resources=None, env=env)
    try:
        moto_log = open(log_dir / "moto.log", "wb")  # noqa: SIM115 - lives as long as the process
        stack.procs.append(subprocess.Popen([python, "-m", "moto.server", "-H", HOST, "-p", str(moto_port)],
                                            stdout=moto_log, stderr=subprocess.STDOUT, env=env))
        wait_http(f"{endpoint}/moto-api/", proc=stack.procs[0])
        from chalicelib import config
        from chalicelib.adapters import aws
        from chalicelib.services.common import reset_connections
        from infra import bootstrap, seed

        config.reset()
        aws.reset()
        reset_connections()  # PynamoDB clients made earlier in this process point elsewhere
        resources = bootstrap.bootstrap(REGION)
        stack.resources = resources
        seed.create_bapas()
        seed.create_users(REGION, resources.user_pool_id)
        seed.subscribe_coordinators(REGION, resources.coordinators_topic_arn)
        env.update(resources.env())
        os.environ.update(resources.env())
        config.reset()
        api_log = open(log_dir / "api.log", "wb")  # noqa: SIM115
        chalice = [str(Path(python).parent / "chalice"), "local", "--host", HOST, "--port", str(api_port),
                   "--no-autoreload",
                   "--stage", "dev"]
        stack.procs.append(subprocess.Popen(chalice, cwd=ROOT, stdout=api_log, stderr=subprocess.STDOUT, env=env))
        wait_http(f"{stack.api_url}/v1/health", proc=stack.procs[-1])
        if seed_data:
            stack.seeded = seed.seed_via_api(stack.api_url, REGION, resources.user_pool_client_id, date.today())
    except BaseException:
        stack.stop()
        raise
    return stack


def write_stack_json(stack: Stack) -> None:
    STACK_FILE.parent.mkdir(parents=True, exist_ok=True)
    STACK_FILE.write_text(json.dumps(stack.stack_json(), indent=2))


def run(args: argparse.Namespace) -> None:
    moto_port = args.moto_port if port_free(args.moto_port) else free_port()
    api_port = args.api_port if port_free(args.api_port) else free_port()
    stack = start_stack(moto_port, api_port)
    write_stack_json(stack)
    env_file = ROOT / ".local" / "env"
    env_file.write_text("".join(f"export {k}={v}\n" for k, v in {**base_env(stack.endpoint),
                                                                  **stack.resources.env()}.items()))
    print(f"""
Pantau is running.
  API:            {stack.api_url}   (try {stack.api_url}/v1/health)
  AWS emulator:   {stack.endpoint}  (moto server)
  Stack:          {STACK_FILE}
  Users:          coordinator kasubsi.jaksel, PKs pk.andi / pk.budi, admin admin.pusat (password in stack.json)

Log in and call the API:
  TOKEN=$(.venv/bin/python -m infra.local token kasubsi.jaksel)
  curl -s -H "Authorization: Bearer $TOKEN" {stack.api_url}/v1/me

Run the daily job as of a time:  make invoke fn=escalate_unreachable time=2026-12-01T01:00:00+07:00
Ctrl-C stops both servers.""", flush=True)
    stopping = False

    def _stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stopping and all(p.poll() is None for p in stack.procs):
            time.sleep(0.5)
    finally:
        stack.stop()
        print("Stopped.", flush=True)


def load_stack_env() -> dict[str, Any]:
    if not STACK_FILE.exists():
        sys.exit("No .local/stack.json: start the stack with `make run` first.")
    data = json.loads(STACK_FILE.read_text())
    os.environ.update(base_env(data["aws_endpoint_url"]))
    os.environ.update({
        "PANTAU_BUCKET": data["bucket"],
        "PANTAU_USER_POOL_ID": data["user_pool_id"],
        "PANTAU_USER_POOL_CLIENT_ID": data["user_pool_client_id"],
        "PANTAU_COORDINATORS_TOPIC_ARN": data.get("coordinators_topic_arn", ""),
        "PANTAU_ESCALATION_QUEUE_URL": data.get("escalation_queue_url", ""),
        "PANTAU_PUBLIC_URL": data["api_url"],
    })
    return data


def token(args: argparse.Namespace) -> None:
    data = load_stack_env()
    user = next((u for u in data["users"] if u["username"] == args.username), None)
    if user is None:
        sys.exit(f"unknown user {args.username}")
    from infra import seed

    print(seed.login(data["region"], data["user_pool_client_id"], user["username"], user["password"]))


def invoke(args: argparse.Namespace) -> None:
    load_stack_env()
    from infra import invoke as invoker

    print(json.dumps(invoker.invoke(args.fn, args.time), indent=2, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="start moto server and chalice local, bootstrap and seed")
    p_run.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5005")))
    p_run.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT", "8000")))
    p_run.set_defaults(func=run)
    p_token = sub.add_parser("token", help="print an ID token for a seeded user")
    p_token.add_argument("username")
    p_token.set_defaults(func=token)
    p_invoke = sub.add_parser("invoke", help="invoke a scheduled/event function against the running stack")
    p_invoke.add_argument("fn")
    p_invoke.add_argument("time")
    p_invoke.set_defaults(func=invoke)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
