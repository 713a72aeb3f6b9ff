"""The sandbox: a fake WhatsApp provider, a real loopback HTTP server speaking the product's webhook
contract. provider.py holds the SandboxProvider (its server's lifecycle, the phone's simulations),
built on actions.py (the webhook actions), itself on instances.py (the instances and how their
status changes), with state.py (their record and the state file it persists to) and pushes.py (the
status changes pushed to the app); server.py is the HTTP layer, shared.py the process-wide sandbox
configured from the environment, __main__.py the command line
(``python -m lib.provider.sandbox --port 8765``). Nothing here imports streamlit.
"""
