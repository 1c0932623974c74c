"""glm-chat's own GLM-6B for MindSpore alone: tokenizer, checkpoint reader, network and decode loop."""
