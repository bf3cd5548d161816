"""Pantau: wiring only. Create the app, register the gate and the blueprints."""

from chalice import Chalice

import chalicelib.api.records as records_api
from chalicelib.api import clients, core
from chalicelib.http import gate

app = Chalice(app_name="pantau", configure_logs=False)  # Powertools Logger owns logging: no doubled lines
app.register_middleware(gate(app), "http")
app.register_blueprint(core.bp)
app.register_blueprint(clients.bp)
app.register_blueprint(records_api.bp)
