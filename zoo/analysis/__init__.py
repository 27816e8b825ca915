"""Model analysis: parameters, FLOPs and input specs of config-built models."""
