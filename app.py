"""Pantau: wiring only. Create the app, register the gate and the blueprints."""

from chalice import Chalice, Cron

from chalicelib import snapstart  # noqa: F401  (registers the SnapStart runtime hooks)
from chalicelib.api import clients, core, escalations, lifecycle, messages, photos, records, replies, reports
from chalicelib.http import gate
from chalicelib.services import retention

app = Chalice(app_name="pantau", configure_logs=False)  # Powertools Logger owns logging: no doubled lines
app.register_middleware(gate(app), "http")
for api in (core, clients, escalations, records, reports, photos, lifecycle, messages, replies):
    app.register_blueprint(api.bp)


# Hourly: escalations whose grace period ended, and at 08:00 WIB, WITA and WIT (01:00, 00:00 and 23:00 UTC) what
# was held back for the night in each zone (services/escalation.py).
@app.schedule(Cron(0, "*", "*", "*", "?", "*"))
def escalate_unreachable(event):
    return escalations.run_scheduled(event)


@app.on_sqs_message(queue="pantau-dev-escalations", batch_size=10)
def escalation_worker(event):
    return escalations.handle_sqs(event)


@app.schedule(Cron(30, 19, "*", "*", "?", "*"))  # 19:30 UTC = 02:30 WIB, every day
def apply_retention(event):
    return retention.run_scheduled(event)


@app.schedule(Cron(0, 2, "*", "*", "?", "*"))  # 02:00 UTC = 09:00 WIB, 10:00 WITA, 11:00 WIT: daytime everywhere
def send_reminders(event):
    return messages.run_reminders(event)


# Invoked by the CloudWatch Logs subscription filter on SNS's SMS delivery-failure log group (infra/template.py).
@app.lambda_function(name="sms_delivery_reports")
def sms_delivery_reports(event, context):
    return messages.handle_delivery_reports(event)
