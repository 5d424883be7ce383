"""Prism's local platform: what stands in for Azure on one machine and never ships.

The local Functions host (``devhost``) drives Microsoft's worker runtime over FunctionRpc
(``functionrpc``), and the local stack (``localstack``) starts the emulators it runs
against. It builds on the core (``prism``); the core never imports it.
"""
