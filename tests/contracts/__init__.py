"""Shared contract suites, one per port: a base class of tests every implementation must pass
(`notifier.NotifierContract`, `renderer.RendererContract`, `cost_source.CostSourceContract`)
and, next to each, the module of its subclasses, one per implementation (`test_notifiers.py`,
`test_renderers.py`, `test_cost_sources.py`). pytest collects the subclasses (`Test*`), never the
bases. A difference by design is a declared capability of the subclass, checked both ways.
Fakes and the card catalogue live in tests/support/."""
