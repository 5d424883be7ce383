"""The Azure Functions app: one blueprint per stage, nothing else.

Importing this module reads no settings, loads no model and touches no network:
bindings name their settings as ``%Setting%`` expressions, resolved by the host.
"""

from __future__ import annotations

import azure.functions as func

from functions import api, console, inference, ingest, openapi

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(ingest.bp)
app.register_functions(inference.bp)
app.register_functions(api.bp)
app.register_functions(console.bp)
app.register_functions(openapi.bp)
