"""Proof and measurement: eager twin vs the independent reference, engines vs eager (``parity``), and the timing
loops behind ``trtnet bench`` (``bench``)."""
