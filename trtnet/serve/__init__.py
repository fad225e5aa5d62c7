"""Serving trtnet through NVIDIA Triton Inference Server: a model repository with a Python-backend model that
runs trtnet's pipeline on each dynamic batch (``export``), a launcher for ``tritonserver`` (``server``), and a
client with a load generator (``client``, ``load``).  trtnet does not grow its own server."""
