"""The two backends of a Graph: TensorRT (trt.py) and eager PyTorch (eager.py), plus their loop drivers."""
