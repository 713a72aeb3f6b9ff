"""The sandbox: a fake WhatsApp provider, a real loopback HTTP server speaking the product's webhook
contract. provider.py holds the instances, state.py their record and the state file it persists
to, pushes.py the status changes it pushes to the app, server.py the HTTP layer, shared.py the
process-wide sandbox configured from the environment, __main__.py the command line
(``python -m lib.provider.sandbox --port 8765``). Nothing here imports streamlit.
"""
