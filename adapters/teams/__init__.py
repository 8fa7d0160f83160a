"""Microsoft Teams through the Microsoft 365 Agents SDK.

- `app.TeamsBot`: /api/messages (token guard, messages, card actions, install events).
- `auth`: the request guard and the SDK's auth configuration from settings.
- `activities`: activity ↔ core translations (command text, requester, conversation references).
- `cards.render_card`: the view model as an Adaptive Card 1.5 (pure).
- `notifier.TeamsNotifier`: `core.delivery.ports.Notifier` for stored conversations.
- `package`: the Teams app package (manifest + icons).
"""
