"""Orchestration over the network definitions: building engine sets (plans, sidecars, build_config.json, cache)
and the eager twins that stand in for engines (same name-based ``run`` as a runtime session)."""
