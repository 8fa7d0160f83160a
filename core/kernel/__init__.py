"""The kernel: what every feature builds on, and which imports no feature.

The front door and its pipeline (`service`), the router features register into (`routing`), the
grammar and vocabularies (`grammar`), who asks (`context`, `interaction`), roles and policy
(`authz`), the neutral card model with its JSON codec and plain-text renderer (`cards`,
`cards_json`, `cards_text`), charts, money, errors, the clock, claims, Azure scopes, and the
database (`db`).
"""
