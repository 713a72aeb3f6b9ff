"""Alerts through the channels the team already uses, by Apprise (Telegram, Slack, Teams, e-mail,
ntfy, generic JSON webhooks and ~100 more): the Apprise URLs in `[alerts] urls` (ALERT_URLS).

What is sent (each kind can be turned off with `[alerts] on`):
- `dropped`: a connected instance seen disconnected by two consecutive checks of the monitor (the
  one that found it and a confirmation a few seconds later), or at once by a provider event;
- `recovered`: connected again after a drop that was alerted;
- `stuck_connecting`: connecting for more than STUCK_AFTER;
- `unstable`: UNSTABLE_DROPS drops in UNSTABLE_WINDOW send this one alert instead of one per drop.
At most one alert per instance and kind per cooldown (15 min by default).

Only the process that holds the monitor's lease decides and sends (lib.monitor drives AlertRules),
reading the history for what happened, so several replicas never send twice and a drop pushed to
any replica is seen. Sending happens on its own thread: a receiver that hangs never delays a
sweep, and no channel is waited for longer than a wall-clock limit (lib.alerts.sender). Every
outcome is written to the history (`alert_sent` / `alert_failed`, with the reason); Apprise URLs
hold credentials, so they never reach a log line, an event or a screen.

The parts: lib.alerts.message (what is said), lib.alerts.sender (Apprise), lib.alerts.rules (what is
sent when, and the outcomes in the history).
"""
