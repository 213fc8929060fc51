"""The endpoints outside services call: the payment provider (Stripe), the SMS provider
(Twilio: replies and delivery reports; the short links), the postal provider (Maileva). Each
checks its caller's signature before reading anything, and records each event once."""
