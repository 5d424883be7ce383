"""The Functions layer: one blueprint per stage. Triggers, bindings and translation
only — every decision is made in the ``prism`` core, imported when a function runs."""
