"""The control side of a panel: what the domain's panel is not, though users and the server need it.

``control.panel.Panel`` is the panel users and the server get (``mockpanel.Panel``): it owns the
domain's core and adds reading an ``add``'s wire fields, forcing states, whole-state snapshots, and
recording every change for state files. The domain and the judge never import this package.
"""
