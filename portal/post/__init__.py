"""Registered letters sent through a postal provider's API (the formal notice, or any level's
letter): the provider prints, posts and tracks them; its deposit proof and delivery status come
back onto the debtor's timeline.

- `maileva`: Maileva's (La Poste group) registered-mail API, v4 ("Lettre Recommandée En Ligne");
  Maileva publishes no Python package, so this is a small client of its documented REST API
  over `requests`; MAILEVA_API_BASE / MAILEVA_AUTH_URL point it at a local stand-in in tests;
- `tracking`: what the run and the callbacks make of a letter's progress (a plain function of
  the provider's answers: task state, timeline events, the proof kept as an attachment).
Without a provider, the letter is a task: the accountant prints and posts it, as before.
"""
