"""Engines that turn a prompt into streamed text: MindFormers' GLM-6B, and a fake for protocol tests."""
