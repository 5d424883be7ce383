"""The lifecycle rules applied to a store from the command line, and plotted; the policy
model and its simulator are the core's (:mod:`prism.lifecycle`)."""
