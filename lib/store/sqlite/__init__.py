"""The embedded store: one SQLite file (WAL) under APP_DATA_DIR with instances and local users.

`database` opens the file and keeps its schema up to date; `instances` is the instances' store on it
(the monitor's lease too), with their history from `history`. The local users' tables are read by lib.auth."""
