"""Plan values, ordering, and (later) the executor and the renderers."""
