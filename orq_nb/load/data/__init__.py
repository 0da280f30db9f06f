"""The bundled sample sessions (``sample_sessions.jsonl.gz``), read by :func:`orq_nb.load_sample`."""
