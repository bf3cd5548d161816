"""Pantau: wiring only. Create the app, register the gate and the blueprints."""

from chalice import Chalice, Cron

import chalicelib.api.records as records_api
from chalicelib.api import clients, core
from chalicelib.api import escalations as escalation_api
from chalicelib.api import photos as photos_api
from chalicelib.api import reports as reports_api
from chalicelib.http import gate

app = Chalice(app_name="pantau", configure_logs=False)  # Powertools Logger owns logging: no doubled lines
app.register_middleware(gate(app), "http")
app.register_blueprint(core.bp)
app.register_blueprint(clients.bp)
app.register_blueprint(escalation_api.bp)
app.register_blueprint(records_api.bp)
app.register_blueprint(reports_api.bp)
app.register_blueprint(photos_api.bp)


@app.schedule(Cron(0, 18, "*", "*", "?", "*"))  # 18:00 UTC = 01:00 WIB, every day
def escalate_unreachable(event):
    return escalation_api.run_scheduled(event)


@app.on_sqs_message(queue="pantau-dev-escalations", batch_size=10)
def escalation_worker(event):
    return escalation_api.handle_sqs(event)


@app.schedule(Cron(30, 19, "*", "*", "?", "*"))  # 19:30 UTC = 02:30 WIB, every day
def apply_retention(event):
    from chalicelib.services import retention

    return retention.run_scheduled(event)
