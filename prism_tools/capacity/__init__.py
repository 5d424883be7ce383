"""Capacity: the plan for a daily volume (:mod:`.plan`) and the simulated day that tests
it (:mod:`.simulate`), from measurements and Azure's published limits (``limits.json``)."""
