"""glm-chat sidecar: runs ChatGLM-6B on MindSpore and streams answers over ZeroMQ."""

__version__ = "0.1.0"
