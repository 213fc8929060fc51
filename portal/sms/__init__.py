"""Text messages (SMS): what a reminder's SMS may say and when it may go out, the providers that
carry it, and the queue the run fills and empties.

- `text`: GSM-7 or UCS-2, characters and segments (160/153 or 70/67 a segment);
- `rules`: quiet hours (08:00-20:00 in the creditor's zone, not on Sundays or public holidays)
  and which numbers are mobiles;
- `providers`: one interface, Twilio through its official package, and an outbox (files) for the
  demo and development;
- `queue`: queue an SMS with its reminder, send those whose hour came, apply delivery reports and
  STOP replies;
- `webhooks`: the provider's callbacks (signed), feeding the queue and the timeline.
"""
